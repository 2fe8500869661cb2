"""fit_batch on dask.distributed: scattered chunks (no data in the task graph), the LocalCluster
layout and its thread pins, results identical to the in-process fit."""

import warnings

import numpy as np
import pytest

from devicelib.fit.batch import cluster_layout, fit_batch, local_cluster
from devicelib.fit.errors import FitError
from devicelib.fit.synthetic import soft_bounds_population

distributed = pytest.importorskip("distributed")


def population(n, npulse, seed=0):
    return soft_bounds_population(n, npulse, seed=seed)[0]


def _large_graph_warnings(record):
    return [w for w in record if "Sending large graph" in str(w.message)]


def test_task_graph_holds_no_measurement():
    """The graph sent to the scheduler stays under 4 kB (dask's own serialised-size check, its warning
    threshold lowered) while each chunk holds 15 x 400 x 8 B = 48 kB of conductances; the control
    submits one chunk inline and must trip the same check."""
    import dask

    ds = population(30, 400)
    ref = fit_batch("baseline.soft_bounds", ds, chunk=15, workers=1)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "4kB"}), \
            local_cluster(2, 1, processes=False) as cluster, distributed.Client(cluster) as client:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            out = fit_batch("baseline.soft_bounds", ds, chunk=15, client=client)
        assert _large_graph_warnings(record) == []
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            client.submit(np.sum, ds["conductance"].values[:15].copy(), pure=False).result()
        assert len(_large_graph_warnings(record)) == 1
    for k in ("value", "stderr", "nfev", "converged", "rmse"):
        np.testing.assert_array_equal(out[k].values, ref[k].values)


@pytest.mark.parametrize("layout", [(2, 1), (1, 2)])
def test_local_cluster_identical_to_in_process(layout):
    """Same code per chunk, same chunks: the cluster's values equal the in-process ones bit for bit,
    with one thread per worker and with two (numba pinned to one thread per task)."""
    ds = population(40, 80, seed=3)
    ref = fit_batch("baseline.soft_bounds", ds, chunk=10)
    with local_cluster(*layout, processes=False) as cluster, distributed.Client(cluster) as client:
        info = client.scheduler_info()["workers"]
        assert sorted(d["nthreads"] for d in info.values()) == [layout[1]] * layout[0]
        out = fit_batch("baseline.soft_bounds", ds, chunk=10, client=client)
    for k in ("value", "stderr", "nfev", "converged", "rmse", "chisqr", "condition"):
        np.testing.assert_array_equal(out[k].values, ref[k].values)
    assert out["converged"].values.mean() > 0.9


def test_cluster_layout_pins_threads_to_the_cores():
    # default on 2 cores: 2 single-threaded worker processes, numba and BLAS one thread each
    n, t, env = cluster_layout(cores=2)
    assert (n, t) == (2, 1)
    assert (env["NUMBA_NUM_THREADS"], env["OPENBLAS_NUM_THREADS"], env["OMP_NUM_THREADS"]) == ("1", "1", "1")
    assert cluster_layout(1, 2, cores=2)[:2] == (1, 2) and cluster_layout(1, 2, cores=2)[2]["NUMBA_NUM_THREADS"] == "1"
    assert cluster_layout(1, cores=2)[:2] == (1, 2)  # threads fill the cores
    assert cluster_layout(threads_per_worker=1, cores=8)[:2] == (8, 1)
    assert cluster_layout(2, 1, cores=8)[2]["NUMBA_NUM_THREADS"] == "4"  # kernel threads use the rest
    with pytest.raises(FitError, match="n_workers and threads_per_worker"):
        cluster_layout(0, 1, cores=2)


def test_local_cluster_workers_get_the_pins_and_glibc_malloc(monkeypatch):
    """Worker processes: numba and BLAS pinned in their environment, and glibc's malloc thresholds
    fixed (WORKER_MALLOC; not dask's MALLOC_TRIM_THRESHOLD_, which makes every LM temporary a fresh
    mmap), even when an earlier cluster left dask's value in this process's environment; this
    process's environment is put back afterwards. The workers run without dask's stack-sampling
    profiler and the scheduler without work stealing (QUIET_CLUSTER)."""
    import os

    import dask

    dask_value = str(dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"))
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", dask_value)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    keys = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_",
            "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")
    with local_cluster(1, 1, processes=True) as cluster, distributed.Client(cluster) as client:
        [env] = client.run(lambda: {k: os.environ.get(k) for k in keys}).values()
        # QUIET_CLUSTER reached the worker process through its nanny, and the scheduler
        [quiet] = client.run(lambda dask_worker: (dask.config.get("distributed.worker.profile.enabled"),
                                                  sorted(dask_worker.periodic_callbacks))).values()
        stealing = client.run_on_scheduler(lambda dask_scheduler: "stealing" in dask_scheduler.extensions)
    assert quiet[0] is False and "profile" not in quiet[1] and "profile-cycle" not in quiet[1]
    assert stealing is False
    n_threads = cluster_layout(1, 1)[2]["NUMBA_NUM_THREADS"]
    assert env == {"NUMBA_NUM_THREADS": n_threads, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "MALLOC_TRIM_THRESHOLD_": "1073741824", "MALLOC_MMAP_THRESHOLD_": "33554432",
                   "MALLOC_TOP_PAD_": "67108864"}
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == dask_value  # this process's environment put back
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ


def test_worker_slots_interleave_the_workers():
    """One slot per worker thread, the workers interleaved (the first chunks go to different workers)."""
    from devicelib.fit.batch import _worker_slots

    class Fake:
        def scheduler_info(self):
            return {"workers": {"tcp://b": {"nthreads": 1}, "tcp://a": {"nthreads": 2}}}

    assert _worker_slots(Fake()) == ["tcp://a", "tcp://b", "tcp://a"]
    assert _worker_slots(object()) == [None]  # no scheduler info: the scheduler places the chunks


def test_scatter_direct_only_on_the_scheduler_host():
    """Chunks go straight to the workers when they share the scheduler's host (a LocalCluster); on
    other hosts the client's own setting holds (it may reach only the scheduler)."""
    from types import SimpleNamespace

    from devicelib.fit.batch import _scatter_direct

    def client(direct=None):
        return SimpleNamespace(direct_to_workers=direct, scheduler=SimpleNamespace(address="tcp://10.0.0.1:8786"))

    assert _scatter_direct(client(), ["tcp://10.0.0.1:4001", "tcp://10.0.0.1:4002"]) is True
    assert _scatter_direct(client(), ["tcp://10.0.0.1:4001", "tcp://10.0.0.2:4001"]) is None
    assert _scatter_direct(client(False), ["tcp://10.0.0.1:4001"]) is False
    assert _scatter_direct(client(), [None]) is None


_PLACED = {"ran": [], "slow": None}  # module level: the traced task is pickled by reference


def _traced_fit_chunk(parts, kw):
    import time

    from devicelib.fit import batch

    worker = distributed.get_worker()
    me = worker.address
    if me == _PLACED["slow"]:
        time.sleep(0.5)
    # list.append is atomic under the GIL; the chunks of data this worker holds (a scattered chunk is a list)
    _PLACED["ran"].append((me, sum(isinstance(v, list) for v in list(worker.data.values()))))
    return batch._fit_chunk_untraced(parts, kw)


def test_chunks_follow_the_free_worker(monkeypatch):
    """A worker that is slower (here it sleeps 0.5 s per chunk: a core shared with other jobs) gets
    fewer chunks: each chunk goes to the worker thread that finished one, with two in flight per
    thread, so a worker holds two chunks of data (three while the scheduler releases a fitted one),
    where all 12 scattered up front in a fixed round robin put 6 on each. Results equal the
    in-process fit's bit for bit whatever the placement."""
    import devicelib.fit.batch as batch

    ds = population(48, 60, seed=5)
    ref = fit_batch("baseline.soft_bounds", ds, chunk=4)
    monkeypatch.setattr(batch, "_fit_chunk_untraced", batch._fit_chunk, raising=False)
    monkeypatch.setattr(batch, "_fit_chunk", _traced_fit_chunk)
    _PLACED["ran"].clear()
    with local_cluster(2, 1, processes=False) as cluster, distributed.Client(cluster) as client:
        _PLACED["slow"] = slow = sorted(client.scheduler_info()["workers"])[0]
        out = fit_batch("baseline.soft_bounds", ds, chunk=4, client=client)
    ran = list(_PLACED["ran"])
    assert len(ran) == 12
    assert [w for w, _ in ran].count(slow) < 6, ran
    assert max(held for _, held in ran) <= 3, ran
    for k in ("value", "stderr", "nfev", "converged", "rmse", "chisqr", "condition"):
        np.testing.assert_array_equal(out[k].values, ref[k].values)


def _spoiled(kind):
    """240 traces with one bad value in trace 227: past the first 200 (which fit_batch checks on the
    client before its start guess reads them), in the sixth chunk of 40."""
    ds = population(240, 60, seed=7)
    if kind == "gap":
        ds["conductance"].values[227, 5] = np.nan
        return ds, r"synthetic: trace 'trace227' has a missing/NaN value at pulse 5 before its end"
    if kind == "empty":
        ds["conductance"].values[227, :] = np.nan
        return ds, r"synthetic: trace 'trace227' has no finite conductance value"
    ds["width"].values[227, 3] = -1e-6
    return ds, r"synthetic: negative pulse width or interval"


@pytest.mark.parametrize("kind", ["gap", "empty", "width"])
def test_chunk_value_errors_on_a_worker_raise_on_the_client(kind):
    """fit_batch checks the values chunk by chunk where each chunk is fitted (on the workers, at the
    same time; not over the whole measurement on the client first): a bad value past the traces the
    start guess reads raises on the client the same one-line MeasurementError, naming the measurement
    and the trace, as in process and as validate()."""
    from devicelib.measurement import MeasurementError, validate

    ds, message = _spoiled(kind)
    with pytest.raises(MeasurementError, match=f"^{message}"):
        validate(ds)
    with pytest.raises(MeasurementError, match=f"^{message}"):
        fit_batch("baseline.soft_bounds", ds, chunk=40, workers=2)
    with local_cluster(2, 1, processes=False) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(MeasurementError, match=f"^{message}"):
            fit_batch("baseline.soft_bounds", ds, chunk=40, client=client)
