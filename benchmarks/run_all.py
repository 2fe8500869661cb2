"""Regenerate the tables of docs/benchmarks.md (section "Engine, start-up and batch") in one paired run.

    python benchmarks/run_all.py [--quick] [--skip batch,memory] [--json out.json] [--no-write]

Every case runs in its own fresh Python process (so peak memory and import times are per case),
devicelib and aihwkit 1.2.0 (when importable) back to back, and the tables are written as
ratios from this same run, with the machine described in words and its load average. Cases:

simulate
    ``baseline.soft_bounds`` on 1e6 devices x 100 alternating-sign pulses: devicelib's fused
    engine (full history; summary statistics only), its per-pulse reference path, and the anchor:
    aihwkit's ``AnalogTile`` (1000 x 1000 SoftBoundsDevice, no device-to-device spread) updated
    100 times with one pulse per device per update (BL = 1, x = d = 1, learning rate = dw_min;
    the test of one pulse per device is the weight change after the first update).
    ``fefet.nls`` on 2e5 devices x 100 pulses (50 at +3 V then 50 at -3 V, 1 us), fused and reference.
memory
    peak resident memory of 1e6 x 1000 soft-bounds pulses recorded every 10th pulse, streamed to
    an HDF5 file, and as summary statistics; PCM (``pcm.sebastian2014_gst``) 1e6 x 1000 recorded every
    10th pulse without its state variables, in float64 and float32.
startup
    wall time of ``devicelib --help``, ``models``, ``catalog`` and ``show vcm.jiang2016_hfox`` (output to a
    pipe), each the median of 7 fresh processes: on a first run (``DEVICELIB_CACHE_DIR=""``: no replay
    cache, no user model index; only what devicelib ships) and with a warm cache (a fresh cache folder
    filled by one run first: ``--help`` and ``models`` are then replayed, ``catalog`` and ``show`` read
    the cached index). One run of each is discarded first (file-system caches).
batch
    ``fit_batch`` of 10,000 synthetic soft-bounds devices x 2000 pulses in this process
    (``devicelib.fit.synthetic.soft_bounds_population``), and the same fit on a dask LocalCluster
    (``devicelib.fit.batch.local_cluster()``, chunks scattered), fits alternating in process / on the
    cluster (>= 5 pairs): the median of the pairs' ratios and the best-of ratio; the cluster's start-up
    and its workers' first fit are reported apart.

physics
    the physics families: VCM (``vcm.crosssim_oxide_fit``: fused engine, full history and summary, on 1e5 and 1e3
    devices x 100 pulses; its 1T1R card with the series transistor at its SET operating point on 1e4 and 1e3
    devices x 100 pulses and one full SET per device on 1e4; the per-pulse reference path
    on 1e5 and 1e3), the stochastic MTJ on 1e5 x 100 (per-pulse path, seeded draws) and ECM
    (``ecm.menzel2013_ag``: fused engine, full history and summary, on 1e5 x 100 and 2000 x 20; the per-pulse
    reference path on 1e5 x 100), each against the same aihwkit anchor (run here when ``simulate`` is skipped).
pcm
    PCM (``pcm.sebastian2014_gst``, deterministic; ``pcm.joshi2020_statistical``, the statistical layer) on 1e5
    devices x 100 pulses (a 320 uA RESET every 20th pulse, 183 uA gradual SET between, 50 ns): fused engine
    (full history incl. the 7 state variables; summary statistics; 1000 devices) and the per-pulse
    reference path, against the same aihwkit anchor (run here when ``simulate`` and ``physics`` are skipped).
    ``--before JSON`` adds the figures of a saved run of the previous code as before columns.

fitting
    the one-device fit of aihwkit's Gong et al. (2018) trace (``baseline.soft_bounds``, w_min, w_max, dw_min,
    up_down): in process (median of 20 fits after a warm-up) and as the whole ``devicelib fit`` command
    (process start to exit, median of 3 after a warm-up run), each against aihwkit 1.2.0's
    ``fit_measurements`` (Powell over its C++ tile, as in aihwkit's example) on the same data: its fit
    alone, and its whole script (a Python process importing aihwkit and fitting, start to exit); and the
    README's main-job fit command (``devicelib fit datasets/vcm_pulse_trains.csv ...``, warm, median of 3).
    The floor of the command's stack (a script that only imports numpy, scipy.optimize and numba and calls
    one cached ``@njit(cache=True)`` kernel, start to exit, median of 3 after a warm-up) runs right after
    the command; the table gives devicelib's own share of the command (command - floor).
    aihwkit's side is skipped with a note when ``import aihwkit`` fails. ``--fit-before DIR`` runs the
    devicelib cases also against the source tree ``DIR`` (e.g. an export of the previous commit) as
    before columns.

``--quick`` divides every size by 10 (for a smoke run; the doc tables are then marked quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"


# -- cases (each runs in a fresh process: python run_all.py --case NAME --size S) ------------------------------------

def _train(npulse, blocks=False):
    """Alternating up/down pulses, or (``blocks``) npulse/2 up then npulse/2 down."""
    import numpy as np

    from devicelib.pulses import PulseTrain

    if blocks:
        a = np.where(np.arange(npulse) < npulse // 2, 1.0, -1.0)
    else:
        a = np.where(np.arange(npulse) % 2 == 0, 1.0, -1.0)
    return PulseTrain(amplitude=a, width=np.full(npulse, 1e-7), interval=np.zeros(npulse),
                      temperature=np.full(npulse, 300.0))


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def case_sim(model_name, n, npulse, engine, record, repeat, amp=1.0, width=1e-7, blocks=None, reset=None,
             unipolar=False):
    import numpy as np

    from devicelib import get_model
    from devicelib.simulate import simulate

    model = get_model(model_name)
    if model_name.startswith("baseline"):
        model = model.with_params(dw_min=0.01)
    train = _train(npulse, blocks=model_name == "fefet.nls" if blocks is None else blocks)
    a = train.amplitude * amp
    if reset is not None:  # PCM (unipolar): a RESET every 20th pulse, the gradual SET staircase between
        a = np.where(np.arange(npulse) % 20 == 0, reset, abs(amp))
    if unipolar:  # every pulse the same (e.g. a card's SET operating point)
        a = np.full(npulse, float(amp))
    train = type(train)(amplitude=a, width=np.full(npulse, width), interval=train.interval,
                        temperature=train.temperature, amplitude_unit=getattr(model, "amplitude_unit", "V"))
    simulate(model, train, n_devices=min(n, 20_000), engine=engine, record=record)  # warm-up (kernels load)
    t = _best(lambda: simulate(model, train, n_devices=n, engine=engine, record=record), repeat)
    return {"time_s": t, "updates_per_s": n * npulse / t, "n": n, "pulses": npulse}


def case_aihwkit(n_side, npulse, repeat):
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.configs.devices import SoftBoundsDevice
    from aihwkit.simulator.tiles import AnalogTile

    dw = 0.01
    dev = SoftBoundsDevice(dw_min=dw, w_max=1.0, w_min=-1.0, up_down=0.0, dw_min_dtod=0.0, dw_min_std=0.0,
                           w_max_dtod=0.0, w_min_dtod=0.0, up_down_dtod=0.0)
    cfg = SingleRPUConfig(device=dev)
    cfg.update.desired_bl = 1
    cfg.update.update_bl_management = False
    cfg.update.update_management = False
    tile = AnalogTile(n_side, n_side, cfg)
    tile.set_learning_rate(dw)
    tile.set_weights(torch.zeros(n_side, n_side))
    x = torch.ones(1, n_side)
    d = -torch.ones(1, n_side)
    tile.update(x, d)
    w1 = tile.get_weights()[0]
    pulses_per_device = float(w1.mean() / dw)  # soft bounds from w = 0: one pulse moves dw_min

    def run():
        for k in range(npulse):
            tile.update(x, d if k % 2 else -d)

    run()
    t = _best(run, repeat)
    return {"time_s": t, "updates_per_s": n_side * n_side * npulse / t, "n": n_side * n_side, "pulses": npulse,
            "pulses_per_device_per_update": pulses_per_device, "torch_threads": torch.get_num_threads()}


def case_memory(n, npulse, mode, model_name="baseline.soft_bounds"):
    import numpy as np

    from devicelib import get_model
    from devicelib.simulate import simulate

    if model_name == "baseline.soft_bounds":
        model, train = get_model(model_name, dw_min=0.01), _train(npulse)
    else:  # the PCM train of the physics table: RESET every 20th pulse, gradual SET between
        model = get_model(model_name)
        a = np.where(np.arange(npulse) % 20 == 0, 320e-6, 183e-6)
        train = type(_train(1))(amplitude=a, width=np.full(npulse, 5e-8), interval=np.zeros(npulse),
                                temperature=np.full(npulse, 300.0), amplitude_unit="A")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "streamed":
            ds = simulate(model, train, n_devices=n, out=Path(tmp) / "run.nc")
            ds.close()
        elif mode == "summary":
            simulate(model, train, n_devices=n, record="summary")
        elif mode == "decimated_g":  # conductance and energy only (no state variables)
            simulate(model, train, n_devices=n, record=10, record_state=False)
        elif mode == "decimated_g32":
            simulate(model, train, n_devices=n, record=10, record_state=False, dtype="float32")
        else:
            simulate(model, train, n_devices=n, record=10)
    t = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: kB)
    return {"time_s": t, "peak_MiB": peak, "n": n, "pulses": npulse}


def case_startup(args, repeat=7):
    exe = Path(sys.executable).with_name("devicelib")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "devicelib.cli"]
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for mode, where in (("first", ""), ("cached", cache)):
            env = {**os.environ, "DEVICELIB_CACHE_DIR": where}
            subprocess.run([*cmd, *args], capture_output=True, check=True, env=env)  # warm-up (fills the cache)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                subprocess.run([*cmd, *args], capture_output=True, check=True, env=env)
                times.append(time.perf_counter() - t0)
            out[mode] = {"time_s": statistics.median(times), "min_s": min(times)}
    return {"time_s": out["first"]["time_s"], "first": out["first"], "cached": out["cached"]}


def case_batch(n, npulse, dask=True, repeat=5):
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_fit_batch (dask_run)
    from devicelib.fit.batch import fit_batch
    from devicelib.fit.synthetic import soft_bounds_population

    data, _truth = soft_bounds_population(n, npulse)
    fit_batch("baseline.soft_bounds", data.isel(trace=slice(0, 50)), chunk=50)  # warm-up
    t0 = time.perf_counter()
    out = fit_batch("baseline.soft_bounds", data, chunk=500)
    t = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"time_s": t, "n": n, "pulses": npulse, "converged": float(out["converged"].mean()), "peak_MiB": peak}
    if dask:  # the same fit on devicelib.fit.batch.local_cluster (default layout), alternating with in-process
        try:
            from bench_fit_batch import dask_run

            from devicelib.fit.batch import cluster_layout

            nw, nt, _env = cluster_layout()
            d = dask_run(data, 500, nw, nt, repeat, out)
        except ImportError as e:  # distributed not installed
            res["dask"] = {"error": str(e)}
        else:
            res["time_s"] = min(t, d["in_process_time_s"])  # best of the in-process fits of this run
            res["dask"] = {k: d[k] for k in ("workers", "threads_per_worker", "time_s", "cluster_start_s",
                                             "worker_warm_up_s", "identical_to_in_process", "times_s",
                                             "in_process_times_s", "pair_ratios", "load_average")}
            # the pairs' median ratio (robust to another job's burst during one fit) and the best-of ratio
            res["dask"]["vs_in_process"] = statistics.median(d["pair_ratios"])
            res["dask"]["best_of_ratio"] = d["time_s"] / res["time_s"]  # the table's two times
    return res


GONG = ROOT.parent / "shared" / "data" / "aihwkit-gong2018" / "gong_et_al.csv"
GONG_CLI = ["fit", str(GONG), "--layout", "sequence", "--no-header", "--unit", "", "--amplitude", "1 V",
            "--amplitude", "-1 V", "--width", "1 us", "--model", "baseline.soft_bounds"]
README_FIT = ["fit", "datasets/vcm_pulse_trains.csv", "--model", "datasets/vcm_example_start.toml", "--vary",
              "nu0,gamma0", "--initial", "fit", "--sigma", "0.1%", "--card"]  # + a card path
# aihwkit's fit of the Gong trace as a whole script (process start to exit): bench_fit_gong.py --aihwkit-only
AIHWKIT_SCRIPT = Path(__file__).resolve().parent / "bench_fit_gong.py"


def case_fit_gong(repeat):
    """devicelib's one-device fit of the Gong trace in this process: median of ``repeat`` after a warm-up."""
    from devicelib.fit import fit
    from devicelib.fit.readers import read_sequence_csv

    data = read_sequence_csv(GONG, "", amplitudes=[1.0, -1.0], width=1e-6)
    fit("baseline.soft_bounds", data)  # warm-up: the compiled kernels load
    times, r = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = fit("baseline.soft_bounds", data)
        times.append(time.perf_counter() - t0)
    return {"time_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeat": repeat,
            "nfev": r.nfev, "rmse": r.rmse, "status": r.status, "values": {k: r.values[k] for k in r.varied},
            "stderr": {k: r.stderr[k] for k in r.varied}}


def case_fit_aihwkit():
    """aihwkit's whole script (process start to exit) and, inside it, its fit alone."""
    try:
        import aihwkit  # noqa: F401
    except ImportError as exc:
        return {"error": f"aihwkit not importable ({exc})"}
    t0, c0 = time.perf_counter(), _child_cpu()
    r = subprocess.run([sys.executable, str(AIHWKIT_SCRIPT), "--aihwkit-only", str(GONG)], capture_output=True,
                       text=True, check=True)
    wall = time.perf_counter() - t0
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {"script_s": wall, "script_cpu_s": _child_cpu() - c0, "fit_s": out.pop("time_s"), **out}


def _child_cpu() -> float:
    """User + system CPU time of this process's finished children (s): on a loaded machine the wall time of a
    single-threaded command stretches with the load, its CPU time much less."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _console_script(tree: Path, folder: Path) -> Path:
    """A file like the ``devicelib`` script pip writes for ``tree``: its ``[project.scripts]`` entry point."""
    import tomllib

    spec = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]["devicelib"]
    module, func = spec.split(":")
    path = folder / "devicelib_script.py"
    path.write_text(f"import sys\nfrom {module} import {func}\nif __name__ == '__main__':\n    sys.exit({func}())\n")
    return path


def case_cli(args, repeat=3, pythonpath=None, card=False):
    """A whole ``devicelib`` command, process start to exit: median of ``repeat`` after one warm-up run."""
    env = dict(os.environ)
    tree = Path(pythonpath or ROOT)
    if pythonpath:  # another source tree (before columns)
        env["PYTHONPATH"] = pythonpath
    exe = Path(sys.executable).with_name("devicelib")
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        if exe.exists() and not pythonpath:
            cmd = [str(exe)]
        else:  # the tree's console script as pip writes it (`python -m` starts 0.1-0.2 s slower: not comparable)
            cmd = [sys.executable, str(_console_script(tree, Path(tmp)))]
        cwd = str(tree)
        full = [*cmd, *args] + ([str(Path(tmp) / "card.toml")] if card else [])
        # warm: caches, numba, and the tree's bytecode (.pyc), which any first run writes (pip at install) unless
        # PYTHONDONTWRITEBYTECODE is set: with it set the timed runs would compile devicelib's sources every time
        warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(full, capture_output=True, check=True, cwd=cwd, env=warm)
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), _child_cpu()
            r = subprocess.run(full, capture_output=True, text=True, check=True, cwd=cwd, env=env)
            times.append(time.perf_counter() - t0)
            cpu.append(_child_cpu() - c0)
    fit_line = [ln for ln in r.stdout.splitlines() if ln.startswith("points")]
    return {"time_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeat": repeat,
            "cpu_s": statistics.median(cpu), "summary": fit_line[0] if fit_line else ""}


FLOOR_SCRIPT = """
import numpy as np
import scipy.optimize  # noqa: F401
from numba import njit


@njit(cache=True)
def kernel(x):
    s = 0.0
    for v in x:
        s += v
    return s


kernel(np.ones(10))
"""


def case_floor(repeat=3, quick_exit=False):
    """The floor of the fit command's stack: a script that only imports numpy, scipy.optimize and numba and
    calls one cached ``@njit(cache=True)`` kernel, process start to exit, median of ``repeat`` after a warm-up
    run (which compiles and caches the kernel), as :func:`case_cli` times the command. ``quick_exit``: the
    script ends as ``devicelib fit`` does (flush, ``os._exit``: no interpreter teardown)."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "floor.py"  # a file: numba caches next to it (a -c script has no cache)
        script.write_text(FLOOR_SCRIPT + ("import os, sys\nsys.stdout.flush()\nos._exit(0)\n" if quick_exit else ""))
        subprocess.run([sys.executable, str(script)], check=True, cwd=tmp)  # warm: compile, cache
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(script)], check=True, cwd=tmp)
            times.append(time.perf_counter() - t0)
    return {"time_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeat": repeat}


def run_case(spec: dict) -> dict:
    kind = spec.pop("case")
    if kind == "cli":
        return case_cli(**spec)
    if kind == "floor":
        return case_floor(**spec)
    fn = {"sim": case_sim, "aihwkit": case_aihwkit, "memory": case_memory, "startup": case_startup,
          "batch": case_batch, "fit_gong": case_fit_gong, "fit_aihwkit": case_fit_aihwkit}[kind]
    return fn(**spec) if kind != "startup" else fn(spec["args"])


def in_fresh_process(spec: dict, timeout=3600) -> dict:
    env = dict(os.environ)
    if spec.get("case") != "cli":  # (case_cli runs its command with the tree itself)
        tree = spec.pop("pythonpath", None)
        if tree:  # the before columns: another source tree
            env["PYTHONPATH"] = tree
    r = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


# -- the machine, in words -------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
        mem = f"{kb / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        mem = "unknown RAM"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    import numba
    import numpy

    return (f"{os.cpu_count()} logical cores ({cpu}), {mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}; "
            f"load average {load} at the start")


# -- the document ----------------------------------------------------------------------------------------------------

def _f(x, fmt="{:.3g}"):
    return "-" if x is None else fmt.format(x)


def render(res: dict, quick: bool) -> str:
    def get(key, field="updates_per_s"):
        return res.get(key, {}).get(field)

    anchor = get("sim_aihwkit")
    lines = [BEGIN, "", "## Engine, start-up and batch (generated by `python benchmarks/run_all.py`)", ""]
    lines.append(f"Run of {res.get('date', 'unknown date')}. Machine: {res['machine']}. "
                 f"Load average at the end: {res['load_end']}. "
                 "The cores are shared with other jobs, so absolute times vary between runs; the ratios "
                 "come from the same run (cases back to back, each in a fresh process)."
                 + (" **Quick run: sizes divided by 10.**" if quick else ""))
    lines += ["", "### Simulate: device-pulse updates per second", "",
              "| case | devices x pulses | time | updates/s | vs aihwkit tile |", "|---|---|---|---|---|"]
    rows = [("soft bounds, fused engine, full history", "sim_sb_fused"),
            ("soft bounds, fused engine, summary statistics only", "sim_sb_summary"),
            ("soft bounds, per-pulse reference path", "sim_sb_reference"),
            ("aihwkit 1.2.0 AnalogTile update, SoftBoundsDevice (anchor)", "sim_aihwkit"),
            ("FeFET NLS, fused engine, full history", "sim_nls_fused"),
            ("FeFET NLS, per-pulse reference path", "sim_nls_reference")]
    for label, key in rows:
        r = res.get(key, {})
        if "error" in r or not r:
            lines.append(f"| {label} | - | - | {r.get('error', 'not run')} | - |")
            continue
        ratio = f"{r['updates_per_s'] / anchor:.2f}x" if anchor else "-"
        lines.append(f"| {label} | {r['n']:.0e} x {r['pulses']} | {r['time_s']:.2f} s | {r['updates_per_s']:.3g} | "
                     f"{ratio} |")
    if any(key in res for _label, key in PHYSICS_ROWS):
        lines += _physics_table(res, anchor)
    a = res.get("sim_aihwkit", {})
    if "pulses_per_device_per_update" in a:
        lines += ["", f"aihwkit: {a['pulses_per_device_per_update']:.3f} pulses per device per update measured "
                      f"(1 expected), torch threads {a['torch_threads']}."]
    lines += ["", "### Peak memory, soft bounds 1e6 devices x 1000 pulses" if not quick else
              "### Peak memory, soft bounds 1e5 devices x 100 pulses (quick)", "",
              "| recording | time | peak resident memory |", "|---|---|---|"]
    tail = ["", "The full history in memory would hold conductance and weight for every device and pulse "
                "(16 GB for 1e6 x 1000 in float64, 8 GB with `dtype=\"float32\"`); decimated, summary and "
                "streamed recording keep the run inside 2 GB. The streamed run writes that full history to "
                "disk, so its time is the disk's."]
    for label, key in (("every 10th pulse (`record=10`)", "mem_decimated"),
                       ("streamed to HDF5 (`out=...`, full history on disk)", "mem_streamed"),
                       ("summary statistics (`record=\"summary\"`)", "mem_summary")):
        r = res.get(key, {})
        lines.append(f"| {label} | {_f(r.get('time_s'), '{:.1f} s')} | {_f(r.get('peak_MiB'), '{:.0f} MiB')} |"
                     if "error" not in r else f"| {label} | - | {r['error']} |")
    lines += tail
    if any(k in res for k in ("mem_pcm_decimated_g", "mem_pcm_decimated_g32")):
        lines += ["", "### Peak memory, PCM `pcm.sebastian2014_gst` 1e6 devices x 1000 pulses" if not quick else
                  "### Peak memory, PCM 1e5 devices x 100 pulses (quick)", "",
                  "| recording | time | peak resident memory |", "|---|---|---|"]
        for label, key in (("every 10th pulse, conductance and energy (`record=10, record_state=False`)",
                            "mem_pcm_decimated_g"),
                           ("same in float32 (`dtype=\"float32\"`)", "mem_pcm_decimated_g32")):
            r = res.get(key, {})
            lines.append(f"| {label} | {_f(r.get('time_s'), '{:.1f} s')} | {_f(r.get('peak_MiB'), '{:.0f} MiB')} |"
                         if "error" not in r else f"| {label} | - | {r['error']} |")
        lines += ["", "PCM keeps seven state variables per device; recording all of them every 10th pulse "
                      "would hold 1e6 x 100 x 9 values (7 GB in float64): record them streamed to a file "
                      "(`out=...`) or choose the conductance only, as here."]
    lines += ["", "### Start-up (median of 7 fresh processes, output to a pipe)", "",
              "First run: `DEVICELIB_CACHE_DIR=\"\"` (no replay cache, no user model index: what devicelib ships). "
              "Cached: a warm cache folder (`--help` and `models` replayed; `catalog` and `show` read the cached "
              "model index).", "", "| command | first run | cached |", "|---|---|---|"]
    for label, key in (("`devicelib --help`", "startup_help"), ("`devicelib models`", "startup_models"),
                       ("`devicelib catalog`", "startup_catalog"),
                       ("`devicelib show vcm.jiang2016_hfox`", "startup_show")):
        r = res.get(key)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {label} | {r['error']} | - |")
            continue
        first, cached = r.get("first", r), r.get("cached", {})  # older saved runs: one figure, the replayed one
        lines.append(f"| {label} | {_f(first.get('time_s'), '{:.2f} s') if 'first' in r else '-'} | "
                     f"{_f((cached or r).get('time_s'), '{:.2f} s')} |")
    b = res.get("batch")
    if b:
        lines += ["", "### Batch fit", "",
                  "| devices x pulses | in process | dask LocalCluster | dask / in process | cluster start-up "
                  "(then the workers' first fit) | converged | peak resident memory (in process) |",
                  "|---|---|---|---|---|---|---|"]
        dk = b.get("dask", {})
        if "error" in b:
            lines.append(f"| - | {b['error']} | - | - | - | - | - |")
        else:
            dcell = ("-", "-", "-") if not dk or "error" in dk else (
                f"{dk['time_s']:.1f} s ({dk['workers']} workers x {dk['threads_per_worker']} thread"
                f"{'s' if dk['threads_per_worker'] > 1 else ''})",
                f"{dk['vs_in_process']:.2f}x (median of {len(dk.get('pair_ratios', ())) or '?'} pairs; "
                f"best-of {dk.get('best_of_ratio', dk['vs_in_process']):.2f}x)"
                + ("" if dk["identical_to_in_process"] else " (results differ!)"),
                f"{dk['cluster_start_s']:.1f} s (+ {dk['worker_warm_up_s']:.1f} s)")
            lines.append(f"| {b['n']} x {b['pulses']} | {b['time_s']:.1f} s | {' | '.join(dcell)} | "
                         f"{100 * b['converged']:.2f} % | {b['peak_MiB']:.0f} MiB |")
            if dk and "error" not in dk:
                lines += ["", "In process: chunks of 500 devices on a thread per core. dask: the same chunks "
                              "scattered to a `devicelib.fit.batch.local_cluster()`, each to the worker thread that "
                              "has just finished one (client=, no data in the task graph), each chunk's values checked "
                              "where it is fitted, results identical to the in-process fit; fits alternating in "
                              "process / on the cluster, each pair's ratio (dask / in process), their median and "
                              "best of each (times: the best). Cluster start-up (worker processes and imports) and "
                              "the workers' first fit (loading the compiled kernels) are paid once: a lab reuses a "
                              "running cluster."]
    if any(k in res for k in ("fit_gong", "fit_cli", "fit_readme")):
        lines += _fitting_table(res)
    lines += ["", END]
    return "\n".join(lines)


def _fitting_table(res: dict) -> list[str]:
    """The fitting goals of issue 15: in-process and whole-command Gong fits against aihwkit, README fit."""
    a = res.get("fit_aihwkit", {})
    has_a = "error" not in a and "fit_s" in a
    before = any(k.endswith("_before") for k in res)
    head = "| measure | devicelib | aihwkit 1.2.0, same run | ratio |" + (" before | speed-up |" if before else "")
    sep = "|---|---|---|---|" + ("---|---|" if before else "")
    lines = ["", "### Fitting: the Gong et al. (2018) trace and the README's main job", "", head, sep]

    def row(label, key, ref, ref_label):
        r = res.get(key, {})
        if "error" in r or not r:
            out = f"| {label} | {r.get('error', 'not run')} | - | - |"
        else:
            ratio = f"{ref / r['time_s']:.0f}x" if ref else "-"
            out = f"| {label} | {_fmt_t(r['time_s'])} | {ref_label} | {ratio} |"
        if before:
            b = res.get(key + "_before", {})
            ok = "time_s" in b and "time_s" in r
            out += (f" {_fmt_t(b['time_s'])} | {b['time_s'] / r['time_s']:.2f}x |" if ok else " - | - |")
        return out

    fit_ref = a.get("fit_s") if has_a else None
    script_ref = a.get("script_s") if has_a else None
    lines.append(row("one-device fit in process (median of 20; goal >= 1000x)", "fit_gong", fit_ref,
                     _fmt_t(fit_ref) + " (`fit_measurements`)" if has_a else a.get("error", "not run")))
    lines.append(row("same fit, whole `devicelib fit` command (start to exit, warm; goal >= 20x)", "fit_cli",
                     script_ref,
                     _fmt_t(script_ref) + " (whole script)" if has_a else "-"))
    fl, cl = res.get("fit_floor", {}), res.get("fit_cli", {})
    if "time_s" in fl:
        lines.append(row("floor of that command's stack: `import numpy, scipy.optimize, numba` and one cached "
                         "`@njit(cache=True)` kernel (start to exit, median of 3)", "fit_floor", script_ref,
                         _fmt_t(script_ref) + " (whole script)" if has_a else "-"))
    fq = res.get("fit_floor_quick", {})
    if "time_s" in fq:  # devicelib fit ends with os._exit (no teardown): its floor ends so too
        lines.append(row("same floor, ending as `devicelib fit` does (flush, `os._exit`: no interpreter "
                         "teardown)", "fit_floor_quick", script_ref,
                         _fmt_t(script_ref) + " (whole script)" if has_a else "-"))
        fl = fq
    if "time_s" in fl and "time_s" in cl:
        own = cl["time_s"] - fl["time_s"]
        lines.append(f"| devicelib's own share of the whole command (command - floor{' ending so' if fq else ''}) "
                     f"| {_fmt_t(own) if own >= 0 else '-' + _fmt_t(-own)} ({own / cl['time_s']:.0%} of it) | - | - |"
                     + (" - | - |" if before else ""))
    lines.append(row("README main-job fit command (warm; goal <= 2 s)", "fit_readme", None, "-"))
    g = res.get("fit_gong", {})
    if "values" in g:
        v, e = g["values"], g["stderr"]
        lines += ["", "devicelib: " + ", ".join(f"{k} = {v[k]:.5g} +/- {e[k]:.2g}" for k in v)
                  + f"; RMSE {g['rmse']:.5f}, {g['nfev']} evaluations."
                  + (" aihwkit: " + ", ".join(f"{k} = {x:.4g}" for k, x in a["values"].items())
                     + f"; RMSE {a['rmse']:.5f}." if has_a else "")]
    cpu = [(label, res[k]["cpu_s"]) for label, k in (("`devicelib fit` (Gong)", "fit_cli"),
                                                        ("README fit", "fit_readme")) if "cpu_s" in res.get(k, {})]
    if has_a and "script_cpu_s" in a:
        cpu.append(("aihwkit script", a["script_cpu_s"]))
    if cpu:
        lines += ["", "CPU time (user + system) of the whole commands, median: "
                  + ", ".join(f"{label} {t:.2f} s" for label, t in cpu)
                  + " (wall time stretches with the machine's load; a single-threaded command's CPU time much less)."]
    if not has_a:
        lines += ["", f"aihwkit side skipped: {a.get('error', 'not run')}."]
    return lines


def _fmt_t(t):
    return "-" if t is None else (f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s")


PHYSICS_ROWS = (
    ("VCM `vcm.crosssim_oxide_fit`, 0.9 V x 50 then -0.9 V x 50, 100 ns, fused engine", "sim_vcm_fused"),
    ("VCM, same train, fused engine, summary statistics only", "sim_vcm_fused_summary"),
    ("VCM, same train, 1000 devices, fused engine", "sim_vcm_small_fused"),
    ("VCM 1T1R `vcm.stanford1t1r_fit` (series transistor, V_g 1.5 V): its operating point 2 V 100 ns x 50 (the "
     "first pulse SETs fully, the rest find the gap at g_min), then -2 V x 50 (0.76 V on the cell, below F_min: "
     "no RESET on this card), fused", "sim_vcm_1t1r"),
    ("VCM 1T1R, same train, 1000 devices, fused", "sim_vcm_1t1r_small"),
    ("VCM 1T1R, one 2 V 100 ns pulse per device from g_max (a full SET: the worst case per update), fused",
     "sim_vcm_1t1r_set"),
    ("VCM `vcm.crosssim_oxide_fit`, per-pulse reference path", "sim_vcm"),
    ("VCM, same train, 1000 devices, per-pulse reference path", "sim_vcm_small"),
    ("PCM `pcm.sebastian2014_gst`, RESET 320 uA every 20th pulse, SET 183 uA between, 50 ns, fused engine",
     "sim_pcm_fused"),
    ("PCM, same train, fused engine, summary statistics only", "sim_pcm_fused_summary"),
    ("PCM, same train, 1000 devices, fused engine", "sim_pcm_small_fused"),
    ("PCM statistical card `pcm.joshi2020_statistical` (noise, drift spread, growth spread), same train, fused",
     "sim_pcm_stat_fused"),
    ("PCM `pcm.sebastian2014_gst`, same train, per-pulse reference path", "sim_pcm"),
    ("PCM statistical card, same train, per-pulse reference path", "sim_pcm_stat"),
    ("stochastic MTJ, +/-100 uA (2x I_c0,P), 10 ns, seeded draws", "sim_mtj"),
    ("ECM `ecm.menzel2013_ag`, 0.35 V x 50 then -0.35 V x 50, 10 us, fused engine", "sim_ecm"),
    ("ECM, same train, fused engine, summary statistics only", "sim_ecm_summary"),
    ("ECM, 0.35 V x 10 then -0.35 V x 10, 10 us, 2000 devices, fused engine", "sim_ecm_small"),
    ("ECM, 0.35 V x 50 then -0.35 V x 50, per-pulse reference path", "sim_ecm_reference"),
)


#: cases renamed since a saved "before" run: (current key) -> (its key there), compared only at equal size
BEFORE_KEY = {"sim_ecm_small": "sim_ecm", "sim_vcm_1t1r_small": "sim_vcm_1t1r"}


def _physics_table(res: dict, anchor) -> list[str]:
    """Physics families on the per-pulse reference path; with ``before`` (a saved run of the previous code,
    ``--before JSON``) the former figures from a run back to back with this one."""
    before = res.get("before", {})
    b_anchor = before.get("sim_aihwkit", {}).get("updates_per_s")
    head = "| case | devices x pulses | time | updates/s | vs aihwkit tile |"
    sep = "|---|---|---|---|---|"
    if before:
        head += " before: updates/s | before: vs aihwkit (its run) | speed-up |"
        sep += "---|---|---|"
    lines = ["", "### Simulate: physics families (fused engine where the family has a kernel, else the per-pulse path)",
             "", head, sep]
    for label, key in PHYSICS_ROWS:
        r = res.get(key, {})
        if "error" in r or not r:
            lines.append(f"| {label} | - | - | {r.get('error', 'not run')} | - |" + (" - | - | - |" if before else ""))
            continue
        ratio = f"{r['updates_per_s'] / anchor:.3f}x" if anchor else "-"
        row = (f"| {label} | {r['n']:.0e} x {r['pulses']} | {r['time_s']:.2f} s | {r['updates_per_s']:.3g} | "
               f"{ratio} |")
        if before:
            rb = before.get(BEFORE_KEY.get(key, key), {})
            if rb.get("n") != r["n"] or rb.get("pulses") != r["pulses"]:
                rb = {}  # a case resized since: no like-for-like figure
            if "updates_per_s" in rb:
                bratio = f"{rb['updates_per_s'] / b_anchor:.3f}x" if b_anchor else "-"
                row += f" {rb['updates_per_s']:.3g} | {bratio} | {r['updates_per_s'] / rb['updates_per_s']:.2f}x |"
            else:
                row += " - | - | - |"
        lines.append(row)
    if before:
        lines += ["", f"Before: {before.get('date', '?')}, {before.get('machine', '?')}; load average at its end "
                      f"{before.get('load_end', '?')}."]
    return lines


def write_doc(block: str) -> None:
    text = DOC.read_text()
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:  # after the introduction (the first section heading)
        i = text.index("\n## ")
        text = text[: i + 1] + block + "\n\n" + text[i + 1:]
    DOC.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", default="", help="comma-separated: simulate, physics, pcm, memory, startup, batch, "
                                               "fitting")
    ap.add_argument("--before", metavar="JSON", help="a saved --json run of the previous code: its physics "
                                                     "figures become the before columns")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fit-before", metavar="DIR", help="a source tree of the previous code: the fitting cases "
                                                       "run against it too (before columns)")
    ap.add_argument("--json")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", metavar="JSON", help="write the doc tables from a saved --json run (no rerun)")
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        block = render(saved, saved.get("quick", False))
        print(block)
        if not args.no_write:
            write_doc(block)
        return
    q = 10 if args.quick else 1
    skip = set(filter(None, args.skip.split(",")))
    res = {"machine": machine(), "quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    cases = {}
    if "simulate" not in skip:
        n, N = 1_000_000 // q, 100
        cases.update({
            "sim_sb_fused": {"case": "sim", "model_name": "baseline.soft_bounds", "n": n, "npulse": N,
                             "engine": "fused", "record": "full", "repeat": args.repeat},
            "sim_aihwkit": {"case": "aihwkit", "n_side": 1000 // int(q**0.5), "npulse": N, "repeat": args.repeat},
            "sim_sb_summary": {"case": "sim", "model_name": "baseline.soft_bounds", "n": n, "npulse": N,
                               "engine": "fused", "record": "summary", "repeat": args.repeat},
            "sim_sb_reference": {"case": "sim", "model_name": "baseline.soft_bounds", "n": n, "npulse": N,
                                 "engine": "reference", "record": "full", "repeat": 1},
            "sim_nls_fused": {"case": "sim", "model_name": "fefet.nls", "n": 200_000 // q, "npulse": N,
                              "engine": "fused", "record": "full", "repeat": args.repeat, "amp": 3.0, "width": 1e-6},
            "sim_nls_reference": {"case": "sim", "model_name": "fefet.nls", "n": 200_000 // q, "npulse": N,
                                  "engine": "reference", "record": "full", "repeat": 1, "amp": 3.0, "width": 1e-6},
        })
    if "physics" not in skip:
        if "simulate" in skip:  # the anchor the physics rows are compared with
            cases["sim_aihwkit"] = {"case": "aihwkit", "n_side": 1000 // int(q**0.5), "npulse": 100,
                                    "repeat": args.repeat}
        ref = {"case": "sim", "engine": "reference", "record": "full", "repeat": args.repeat, "blocks": True}
        fused = {**ref, "engine": "fused"}
        cases.update({
            "sim_vcm_fused": {**fused, "model_name": "vcm.crosssim_oxide_fit", "n": 100_000 // q, "npulse": 100,
                              "amp": 0.9, "width": 1e-7},
            "sim_vcm_fused_summary": {**fused, "model_name": "vcm.crosssim_oxide_fit", "n": 100_000 // q,
                                      "npulse": 100, "amp": 0.9, "width": 1e-7, "record": "summary"},
            "sim_vcm_small_fused": {**fused, "model_name": "vcm.crosssim_oxide_fit", "n": 1000, "npulse": 100,
                                    "amp": 0.9, "width": 1e-7},
            "sim_vcm_1t1r": {**fused, "model_name": "vcm.stanford1t1r_fit", "n": 10_000 // q, "npulse": 100,
                             "amp": 2.0, "width": 1e-7},
            "sim_vcm_1t1r_small": {**fused, "model_name": "vcm.stanford1t1r_fit", "n": 1000, "npulse": 100,
                                   "amp": 2.0, "width": 1e-7},
            "sim_vcm_1t1r_set": {**fused, "model_name": "vcm.stanford1t1r_fit", "n": 10_000 // q, "npulse": 1,
                                 "amp": 2.0, "width": 1e-7, "unipolar": True},
            "sim_vcm": {**ref, "model_name": "vcm.crosssim_oxide_fit", "n": 100_000 // q, "npulse": 100,
                        "amp": 0.9, "width": 1e-7},
            "sim_vcm_small": {**ref, "model_name": "vcm.crosssim_oxide_fit", "n": 1000, "npulse": 100,
                              "amp": 0.9, "width": 1e-7},
            "sim_mtj": {**ref, "model_name": "spintronic.stochastic_mtj", "n": 100_000 // q, "npulse": 100,
                        "amp": 100e-6, "width": 1e-8, "blocks": False},
            # ECM: 1e5 x 100 amortises the fixed costs (the tables of the two pulse conditions, the result's
            # Dataset); the former 2000 x 20 case is kept as the small one
            "sim_ecm": {**fused, "model_name": "ecm.menzel2013_ag", "n": 100_000 // q, "npulse": 100,
                        "amp": 0.35, "width": 1e-5},
            "sim_ecm_summary": {**fused, "model_name": "ecm.menzel2013_ag", "n": 100_000 // q, "npulse": 100,
                                "amp": 0.35, "width": 1e-5, "record": "summary"},
            "sim_ecm_small": {**fused, "model_name": "ecm.menzel2013_ag", "n": 2000 // q, "npulse": 20,
                              "amp": 0.35, "width": 1e-5},
            "sim_ecm_reference": {**ref, "model_name": "ecm.menzel2013_ag", "n": 100_000 // q, "npulse": 100,
                                  "amp": 0.35, "width": 1e-5, "repeat": 1},
        })
    if "pcm" not in skip:
        if "sim_aihwkit" not in cases:  # the anchor the physics rows are compared with
            cases["sim_aihwkit"] = {"case": "aihwkit", "n_side": 1000 // int(q**0.5), "npulse": 100,
                                    "repeat": args.repeat}
        pcm = {"case": "sim", "engine": "fused", "record": "full", "repeat": args.repeat, "amp": 183e-6,
               "width": 5e-8, "reset": 320e-6, "model_name": "pcm.sebastian2014_gst", "npulse": 100}
        cases.update({
            "sim_pcm_fused": {**pcm, "n": 100_000 // q},
            "sim_pcm_fused_summary": {**pcm, "n": 100_000 // q, "record": "summary"},
            "sim_pcm_small_fused": {**pcm, "n": 1000},
            "sim_pcm_stat_fused": {**pcm, "n": 100_000 // q, "model_name": "pcm.joshi2020_statistical"},
            "sim_pcm": {**pcm, "n": 100_000 // q, "engine": "reference", "repeat": 1},
            "sim_pcm_stat": {**pcm, "n": 100_000 // q, "engine": "reference", "repeat": 1,
                             "model_name": "pcm.joshi2020_statistical"},
        })
    if "memory" not in skip:
        n, N = 1_000_000 // q, 1000 // q
        for mode in ("decimated", "streamed", "summary"):
            cases[f"mem_{mode}"] = {"case": "memory", "n": n, "npulse": N, "mode": mode}
        for mode in ("decimated_g", "decimated_g32"):
            cases[f"mem_pcm_{mode}"] = {"case": "memory", "n": n, "npulse": N, "mode": mode,
                                        "model_name": "pcm.sebastian2014_gst"}
    if "startup" not in skip:
        cases["startup_help"] = {"case": "startup", "args": ["--help"]}
        cases["startup_models"] = {"case": "startup", "args": ["models"]}
        cases["startup_catalog"] = {"case": "startup", "args": ["catalog"]}
        cases["startup_show"] = {"case": "startup", "args": ["show", "vcm.jiang2016_hfox"]}
    if "batch" not in skip:
        cases["batch"] = {"case": "batch", "n": 10_000 // q, "npulse": 2000 // q, "repeat": max(5, args.repeat)}
    if "fitting" not in skip:
        trees = [("", None)] + ([("_before", str(Path(args.fit_before).resolve()))] if args.fit_before else [])
        for suffix, tree in trees:  # devicelib's cases back to back with aihwkit's (and the before tree's)
            cases["fit_gong" + suffix] = {"case": "fit_gong", "repeat": 20, "pythonpath": tree}
            cases["fit_cli" + suffix] = {"case": "cli", "args": GONG_CLI, "pythonpath": tree}
            if not suffix:  # the stack's floor (no devicelib): numpy, scipy.optimize, numba, one cached kernel
                cases["fit_floor"] = {"case": "floor"}
                cases["fit_floor_quick"] = {"case": "floor", "quick_exit": True}
            cases["fit_readme" + suffix] = {"case": "cli", "args": README_FIT, "pythonpath": tree, "card": True}
            if not suffix:
                cases["fit_aihwkit"] = {"case": "fit_aihwkit"}
    for key, spec in cases.items():
        t0 = time.perf_counter()
        res[key] = in_fresh_process(dict(spec))
        print(f"{key}: {res[key]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    res["load_end"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.before:
        res["before"] = json.loads(Path(args.before).read_text())
    block = render(res, args.quick)
    print(block)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    if not args.no_write:
        write_doc(block)


if __name__ == "__main__":
    main()
