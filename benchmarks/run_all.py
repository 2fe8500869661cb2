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
    an HDF5 file, and as summary statistics.
startup
    wall time of ``devicelib --help`` and ``devicelib models`` (median of 5 after one warm-up).
batch
    ``fit_batch`` of 10,000 synthetic soft-bounds devices x 2000 pulses in this process
    (the population of benchmarks/bench_fit_batch.py), and the same fit on a dask LocalCluster
    (``devicelib.fit.batch.local_cluster()``, chunks scattered), fits alternating in process / on the
    cluster; the cluster's start-up and its workers' first fit are reported apart.

physics
    the physics families: VCM (``vcm.stanford_pku``: fused engine, full history and summary, on 1e5 and 1e3
    devices x 100 pulses; its 1T1R card with the series transistor on 1e3; the per-pulse reference path
    on 1e5 and 1e3), and on the per-pulse path (no fused kernel) the stochastic MTJ on 1e5 x 100 (seeded
    draws) and ECM on 2000 x 20, each against the same aihwkit anchor (run here when ``simulate`` is skipped).
pcm
    PCM (``pcm.sebastian2014_gst``, deterministic; ``pcm.joshi2020_statistical``, the statistical layer) on 1e5
    devices x 100 pulses (a 320 uA RESET every 20th pulse, 183 uA gradual SET between, 50 ns): fused engine
    (full history incl. the 7 state variables; summary statistics; 1000 devices) and the per-pulse
    reference path, against the same aihwkit anchor (run here when ``simulate`` and ``physics`` are skipped).
    ``--before JSON`` adds the figures of a saved run of the previous code as before columns.

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


def case_sim(model_name, n, npulse, engine, record, repeat, amp=1.0, width=1e-7, blocks=None, reset=None):
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


def case_memory(n, npulse, mode):
    from devicelib import get_model
    from devicelib.simulate import simulate

    model = get_model("baseline.soft_bounds", dw_min=0.01)
    train = _train(npulse)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "streamed":
            ds = simulate(model, train, n_devices=n, out=Path(tmp) / "run.nc")
            ds.close()
        elif mode == "summary":
            simulate(model, train, n_devices=n, record="summary")
        else:
            simulate(model, train, n_devices=n, record=10)
    t = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: kB)
    return {"time_s": t, "peak_MiB": peak, "n": n, "pulses": npulse}


def case_startup(args):
    exe = Path(sys.executable).with_name("devicelib")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "devicelib.cli"]
    times = []
    subprocess.run([*cmd, *args], capture_output=True, check=True)
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([*cmd, *args], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return {"time_s": statistics.median(times), "min_s": min(times)}


def case_batch(n, npulse, dask=True, repeat=2):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_fit_batch import population

    from devicelib.fit.batch import fit_batch

    data, _truth = population(n, npulse)
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
                                             "worker_warm_up_s", "identical_to_in_process")}
            res["dask"]["vs_in_process"] = d["time_s"] / res["time_s"]
    return res


def run_case(spec: dict) -> dict:
    kind = spec.pop("case")
    fn = {"sim": case_sim, "aihwkit": case_aihwkit, "memory": case_memory, "startup": case_startup,
          "batch": case_batch}[kind]
    return fn(**spec) if kind != "startup" else fn(spec["args"])


def in_fresh_process(spec: dict, timeout=3600) -> dict:
    r = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)], capture_output=True, text=True,
                       timeout=timeout)
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
    lines += ["", "### Start-up (median of 5 runs after a warm-up)", "", "| command | time |", "|---|---|"]
    for label, key in (("`devicelib --help`", "startup_help"), ("`devicelib models`", "startup_models")):
        r = res.get(key, {})
        lines.append(f"| {label} | {_f(r.get('time_s'), '{:.2f} s')} |")
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
                f"{dk['vs_in_process']:.2f}x" + ("" if dk["identical_to_in_process"] else " (results differ!)"),
                f"{dk['cluster_start_s']:.1f} s (+ {dk['worker_warm_up_s']:.1f} s)")
            lines.append(f"| {b['n']} x {b['pulses']} | {b['time_s']:.1f} s | {' | '.join(dcell)} | "
                         f"{100 * b['converged']:.2f} % | {b['peak_MiB']:.0f} MiB |")
            if dk and "error" not in dk:
                lines += ["", "In process: chunks of 500 devices on a thread per core. dask: the same chunks "
                              "scattered to a `devicelib.fit.batch.local_cluster()` (client=, no data in the task "
                              "graph), results identical to the in-process fit; best of the fits alternating "
                              "in process / on the cluster. Cluster start-up (worker processes and imports) and "
                              "the workers' first fit (loading the compiled kernels) are paid once: a lab reuses a "
                              "running cluster."]
    lines += ["", END]
    return "\n".join(lines)


PHYSICS_ROWS = (
    ("VCM `vcm.crosssim_oxide_fit`, 0.9 V x 50 then -0.9 V x 50, 100 ns, fused engine", "sim_vcm_fused"),
    ("VCM, same train, fused engine, summary statistics only", "sim_vcm_fused_summary"),
    ("VCM, same train, 1000 devices, fused engine", "sim_vcm_small_fused"),
    ("VCM 1T1R `vcm.stanford1t1r_fit` (series transistor), 2 V x 50 then -2 V x 50, 100 ns, fused", "sim_vcm_1t1r"),
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
    ("ECM `ecm.menzel2013_ag`, 0.35 V x 10 then -0.35 V x 10, 10 us", "sim_ecm"),
)


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
            rb = before.get(key, {})
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
    ap.add_argument("--skip", default="", help="comma-separated: simulate, physics, pcm, memory, startup, batch")
    ap.add_argument("--before", metavar="JSON", help="a saved --json run of the previous code: its physics "
                                                     "figures become the before columns")
    ap.add_argument("--repeat", type=int, default=3)
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
            "sim_vcm_1t1r": {**fused, "model_name": "vcm.stanford1t1r_fit", "n": 1000 // q, "npulse": 100,
                             "amp": 2.0, "width": 1e-7},
            "sim_vcm": {**ref, "model_name": "vcm.crosssim_oxide_fit", "n": 100_000 // q, "npulse": 100,
                        "amp": 0.9, "width": 1e-7},
            "sim_vcm_small": {**ref, "model_name": "vcm.crosssim_oxide_fit", "n": 1000, "npulse": 100,
                              "amp": 0.9, "width": 1e-7},
            "sim_mtj": {**ref, "model_name": "spintronic.stochastic_mtj", "n": 100_000 // q, "npulse": 100,
                        "amp": 100e-6, "width": 1e-8, "blocks": False},
            "sim_ecm": {**ref, "model_name": "ecm.menzel2013_ag", "n": 2000 // q, "npulse": 20,
                        "amp": 0.35, "width": 1e-5},
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
    if "startup" not in skip:
        cases["startup_help"] = {"case": "startup", "args": ["--help"]}
        cases["startup_models"] = {"case": "startup", "args": ["models"]}
    if "batch" not in skip:
        cases["batch"] = {"case": "batch", "n": 10_000 // q, "npulse": 2000 // q, "repeat": max(2, args.repeat - 1)}
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
