"""Benchmark (b): batch fitting of many synthetic devices; devices per second and peak memory.

    .venv/bin/python benchmarks/bench_fit_batch.py [--devices 10000] [--pulses 200] [--chunk 1000]
        [--workers N] [--sparse-devices 20] [--dask [--dask-layouts 2x1,1x2] [--repeat 3] [--dask-graph]]
        [--json out.json]

Synthetic population: baseline.soft_bounds devices (normalised weights) with device-to-device spread
(w_min, w_max ~ N(-/+1, 0.1), dw_min log-normal 0.03 x e^(0.2 xi), up_down ~ N(0.2, 0.05)), a
potentiation/depression trace of --pulses pulses, read noise 0.01. Every device is fitted
independently (4 parameters + its start state) by the vectorised Levenberg-Marquardt of
devicelib.fit.batch, chunk by chunk in this process (a thread per core); optionally also on dask
LocalClusters of ``devicelib.fit.batch.local_cluster`` (``client=``: chunks scattered to the workers;
cluster start-up and the workers' warm-up timed apart from the fit, since a lab reuses a running cluster;
fits alternate in process / on the cluster for a paired comparison; ``--dask-graph`` adds the dask-backed
measurement through xarray.apply_ufunc) and with the block-sparse scipy least_squares on a few devices.
Peak memory: tracemalloc peak of Python/numpy allocations during the fit, and the process's
maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np

from devicelib.fit.batch import fit_batch
from devicelib.fit.synthetic import soft_bounds_population as population


def accuracy(out, truth):
    ok = out["converged"].values
    res = {"converged_fraction": float(ok.mean())}
    for j, name in enumerate(out["param"].values):
        err = out["value"].values[ok, j] - truth[str(name)][ok]
        res[str(name)] = {"median_abs_error": float(np.median(np.abs(err))),
                          "pull_width": float(1.4826 * np.median(np.abs(err / out["stderr"].values[ok, j])))}
    return res


def _warm_worker():
    """Load devicelib and its compiled kernels in a dask worker (the in-process run is warmed too)."""
    from devicelib.fit.batch import fit_batch as fit

    return bool(fit("baseline.soft_bounds", population(10, 200, seed=1)[0], workers=1)["converged"].any())


def dask_run(data, chunk, n_workers, threads, repeat, ref, workers=None, graph=False, dask_malloc=False):
    """Start a devicelib.fit.batch.local_cluster (timed: start-up, then the workers' first fit, which
    loads the compiled kernels), then alternate fits in this process and on the cluster ``repeat``
    times (paired under the same load); best of each, and each pair's ratio (dask / in process). The
    cluster's values must equal the in-process ones exactly (same code per chunk). ``dask_malloc``:
    the same layout and thread pins but dask's own worker malloc setting (MALLOC_TRIM_THRESHOLD_,
    which local_cluster leaves out), for a paired before."""
    import os

    import distributed

    from devicelib.fit.batch import local_cluster

    t0 = time.perf_counter()
    if dask_malloc:
        from devicelib.fit.batch import cluster_layout

        env = cluster_layout(n_workers, threads)[2]
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=threads, env=env,
                                           dashboard_address=None)
    else:
        cluster = local_cluster(n_workers, threads)
    with cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(n_workers)
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.run(_warm_worker)  # imports and compiled kernels on every worker, as in this process
        t_warm = time.perf_counter() - t0
        t_in, t_dk, same = [], [], True
        for _ in range(repeat):
            t = time.perf_counter()
            fit_batch("baseline.soft_bounds", data, chunk=chunk, workers=workers)
            t_in.append(time.perf_counter() - t)
            t = time.perf_counter()
            dk = fit_batch("baseline.soft_bounds", data, chunk=chunk, client=client)  # scattered chunks
            t_dk.append(time.perf_counter() - t)
            same &= all(np.array_equal(dk[k].values, ref[k].values, equal_nan=True)
                        for k in ("value", "stderr", "nfev", "converged"))
        r = {"workers": n_workers, "threads_per_worker": threads, "dask_malloc": dask_malloc,
             "worker_malloc_trim": sorted(set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()),
                                          key=str),
             "path": "client= (chunks scattered, no data in the graph)",
             "cluster_start_s": t_start, "worker_warm_up_s": t_warm,
             "time_s": min(t_dk), "times_s": t_dk, "in_process_time_s": min(t_in), "in_process_times_s": t_in,
             "devices_per_s": data.sizes["trace"] / min(t_dk), "identical_to_in_process": bool(same),
             "pair_ratios": [a / b for a, b in zip(t_dk, t_in, strict=True)],
             "median_pair_ratio": float(np.median([a / b for a, b in zip(t_dk, t_in, strict=True)])),
             "load_average": os.getloadavg()}
        if graph:
            t = time.perf_counter()
            fit_batch("baseline.soft_bounds", data.chunk({"trace": chunk}))
            r["apply_ufunc_time_s"] = time.perf_counter() - t
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--pulses", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--sparse-devices", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None, help="threads in process (default: fit_batch's)")
    ap.add_argument("--dask", action="store_true", help="also on a dask LocalCluster (client=, scattered)")
    ap.add_argument("--dask-layouts", default="2x1",
                    help="comma-separated worker processes x threads per worker, e.g. 2x1,1x2; "
                         "2x1-dask-malloc: dask's default worker malloc setting (a before)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="dask: fits alternating in process / on the cluster, best of each (paired)")
    ap.add_argument("--dask-graph", action="store_true",
                    help="with --dask, also the dask-backed measurement (xarray.apply_ufunc; data in the graph)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    data, truth = population(args.devices, args.pulses)
    warm, _ = population(10, args.pulses, seed=1)
    fit_batch("baseline.soft_bounds", warm)  # load the compiled kernel
    tracemalloc.start()
    t = time.perf_counter()
    out = fit_batch("baseline.soft_bounds", data, chunk=args.chunk, progress=True, workers=args.workers)
    dt = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {
        "devices": args.devices, "pulses": args.pulses, "chunk": args.chunk, "method": "lm",
        "time_s": dt, "devices_per_s": args.devices / dt, "time_per_device_ms": 1e3 * dt / args.devices,
        "peak_traced_MB": peak / 2**20,
        "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "median_nfev": float(np.median(out["nfev"].values)),
        "accuracy": accuracy(out, truth),
    }
    if args.sparse_devices:
        sub, _ = population(args.sparse_devices, args.pulses, seed=2)
        t = time.perf_counter()
        lm = fit_batch("baseline.soft_bounds", sub)
        t_lm = time.perf_counter() - t
        t = time.perf_counter()
        sp = fit_batch("baseline.soft_bounds", sub, method="sparse", max_iter=100)
        t_sp = time.perf_counter() - t
        result["sparse_vs_lm"] = {
            "devices": args.sparse_devices, "lm_time_s": t_lm, "sparse_time_s": t_sp,
            "sparse_converged": int(sp["converged"].sum()), "lm_converged": int(lm["converged"].sum()),
            "max_abs_diff_values": float(np.nanmax(np.abs(sp["value"].values - lm["value"].values))),
        }
    if args.dask:
        from devicelib.fit.batch import cluster_layout

        result["dask_local_cluster"] = runs = []
        for layout in args.dask_layouts.split(","):
            spec, _, variant = layout.lower().partition("-")
            nw, nt = (int(v) for v in spec.split("x"))
            r = dask_run(data, args.chunk, nw, nt, args.repeat, out, args.workers, args.dask_graph,
                         dask_malloc=variant == "dask-malloc")
            r["numba_threads_per_worker"] = int(cluster_layout(nw, nt)[2]["NUMBA_NUM_THREADS"])
            r["vs_in_process"] = r["time_s"] / r["in_process_time_s"]
            runs.append(r)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
