"""GPU benchmark: chainrule (CuPy) against PyTorch CUDA eager, same device, same run.

    python -m bench.gpu_speed [--alternations 3] [--steps 40] [--warmup 10] [--json FILE]

Workloads (float32, TF32 off on both sides: PyTorch's ``allow_tf32`` flags False, CuPy's
``CUPY_TF32=0``): A = the MLP 784-512-512-10 with SGD + momentum at batch 128 and 4096, B = the
small CNN of #9 (bench/models.py ``cnn2d``) at batch 64 and 512. Each measurement runs in a
fresh process per library and alternation (one process measures the four workloads in turn,
resetting the allocator's peak before each; its first step is the process's cold start);
chainrule and PyTorch alternate, ``--alternations`` times (6 processes for 3), each workload's
row is printed and appended to ``--json``'s ``.jsonl`` twin as soon as it is measured, and the
medians are reported. ``--budget`` seconds bound the whole run: no process starts after it, and
the summary covers what finished. Per workload and
library: training samples/s (median step time, each step synchronised), the allocator's peak
(PyTorch ``max_memory_allocated``; chainrule ``cuda.max_memory_allocated``, the high-water
mark of bytes allocated from CuPy's pool, tracked by a memory hook: like with like), kernels per step (counted with PyTorch's CUPTI profiler where it is
importable), and the first step of the first and of the second process as multiples of the
steady step (the second finds CuPy's kernel cache on disk warm). Prints the device. On a
machine without a CUDA GPU it prints why and exits 0 without measuring.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = [("A", "mlp", 128), ("A", "mlp", 4096), ("B", "cnn2d", 64), ("B", "cnn2d", 512)]
TARGETS = {("A", 4096): 1.0, ("A", 128): 0.8, ("B", 512): 0.7, ("B", 64): 0.5}
LR, MOMENTUM, SEED = 0.01, 0.9, 0


def why_no_gpu() -> str | None:
    """None when both chainrule (CuPy) and PyTorch see a CUDA GPU, else the reason."""
    sys.path.insert(0, str(ROOT / "src"))
    from chainrule import devices
    _, why = devices.cupy_status()
    if why is not None:
        return f"chainrule: {why}"
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA GPU (a CPU-only build, or no driver)"
    return None


# -- one measurement, in its own process ---------------------------------------------------------
def _worker_all(lib: str, warmup: int, steps: int, count_kernels: bool) -> None:
    """Every workload in this one process, in order: one JSON line each, flushed at once."""
    for name, arch, batch in WORKLOADS:
        row = _worker(lib, arch, batch, warmup, steps, count_kernels)
        row["workload"] = name
        print(json.dumps(row), flush=True)


def _worker(lib: str, arch: str, batch: int, warmup: int, steps: int,
            count_kernels: bool = True) -> dict:
    os.environ["CUPY_TF32"] = "0"
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from bench.models import build, library, synthetic_batches
    L = library(lib, threads=1)
    if lib == "torch":
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        to_dev = lambda a: L.from_numpy(a).cuda()              # noqa: E731
        sync, reset = torch.cuda.synchronize, torch.cuda.reset_peak_memory_stats
        peak = torch.cuda.max_memory_allocated
        device_name = torch.cuda.get_device_name(0)
    else:
        import chainrule as cr
        to_dev = lambda a: L.from_numpy(a).to("cuda")          # noqa: E731
        sync, reset, peak = cr.cuda.synchronize, cr.cuda.reset_peak_memory_stats, \
            cr.cuda.max_memory_allocated
        import cupy
        device_name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    shape = (784,) if arch == "mlp" else (1, 28, 28)
    t_start = time.perf_counter()
    data = [(to_dev(x), to_dev(y)) for x, y in synthetic_batches(shape, batch, 4, SEED + 1)]
    model = build(L, arch, SEED)
    model = model.cuda() if lib == "torch" else model.to("cuda")
    opt = L.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    sync()
    reset()

    def step(i):
        x, y = data[i % len(data)]
        opt.zero_grad()
        loss = L.F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    times, first = [], None
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = step(i)
        value = float(loss.item())                            # the logged loss: one sync
        sync()
        dt = time.perf_counter() - t0
        if i == 0:
            first = dt
        if i >= warmup:
            times.append(dt)
    steady = statistics.median(times)
    out = {"lib": lib, "arch": arch, "batch": batch, "device": device_name,
           "step_ms": steady * 1e3, "samples_per_s": batch / steady,
           "first_step_ms": first * 1e3, "first_over_steady": first / steady,
           "peak_bytes": int(peak()), "last_loss": value,
           "process_s": time.perf_counter() - t_start, "kernels_per_step": None}
    if not count_kernels:
        out["kernels_note"] = "counted in the first alternation only"
        return out
    try:                                                     # CUPTI sees CuPy's kernels too
        import torch
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for i in range(3):
                step(i).item()
            sync()
        kernels = [e for e in prof.events()
                   if getattr(e, "device_type", None) is not None
                   and "cuda" in str(e.device_type).lower() and "memcpy" not in e.name.lower()
                   and "memset" not in e.name.lower()]
        out["kernels_per_step"] = len(kernels) / 3
    except Exception as exc:  # noqa: BLE001 - counting is optional
        out["kernels_note"] = f"not counted: {type(exc).__name__}: {exc}"[:200]
    return out


def _run_process(lib, warmup, steps, timeout, on_row, count_kernels=True) -> list[dict]:
    """One worker process for ``lib``: its rows as they arrive (``on_row`` called on each);
    stopped after ``timeout`` seconds, keeping what it finished."""
    cmd = [sys.executable, "-m", "bench.gpu_speed", "--worker", lib, str(warmup), str(steps),
           str(int(count_kernels))]
    env = dict(os.environ, CUPY_TF32="0", PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    rows: list[dict] = []
    timer = threading.Timer(max(timeout, 1.0), proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                row = json.loads(line)
                rows.append(row)
                on_row(row)
        err = proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
    if proc.returncode != 0:
        print(f"gpu_speed: the {lib} process stopped (exit {proc.returncode}) after "
              f"{len(rows)} of {len(WORKLOADS)} workloads:\n{err[-2000:]}", flush=True)
    return rows


def _gib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--alternations", type=int, default=3)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds for the whole run: no process starts after it")
    p.add_argument("--json", default=None, help="write every measurement here")
    p.add_argument("--worker", nargs=4, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        lib, warmup, steps, count = a.worker
        _worker_all(lib, int(warmup), int(steps), count == "1")
        return 0
    why = why_no_gpu()
    if why is not None:
        print(f"gpu_speed: skipped, no CUDA GPU to measure on: {why}")
        return 0
    t_end = None if a.budget is None else time.monotonic() + a.budget
    stream = None
    if a.json:
        stream = Path(a.json).with_suffix(".jsonl")
        stream.write_text("")
    runs: list[dict] = []
    per: dict = {(name, batch): {"chainrule": [], "torch": []} for name, _, batch in WORKLOADS}

    def on_row(r):
        runs.append(r)
        per[(r["workload"], r["batch"])][r["lib"]].append(r)
        print(f"  {r['lib']:9} {r['workload']} b={r['batch']:<5} {r['samples_per_s']:10.0f}/s "
              f"step {r['step_ms']:.2f} ms  peak {_gib(r['peak_bytes'])}  first "
              f"{r['first_over_steady']:.0f}x  ({r['process_s']:.1f} s)", flush=True)
        if stream is not None:
            with open(stream, "a") as f:
                f.write(json.dumps(r) + "\n")

    stopped = False
    for alternation in range(a.alternations):
        for lib in ("chainrule", "torch"):
            left = a.timeout if t_end is None else min(a.timeout, t_end - time.monotonic())
            if left <= 1:
                stopped = True
                break
            _run_process(lib, a.warmup, a.steps, left, on_row, alternation == 0)
        if stopped:
            break
    if stopped:
        print(f"gpu_speed: the budget of {a.budget:.0f} s ran out; the summary covers the "
              "processes that finished", flush=True)
    device = runs[-1]["device"] if runs else None
    rows = []
    for name, arch, batch in WORKLOADS:
        got = per[(name, batch)]
        if not got["chainrule"] or not got["torch"]:
            continue
        med = {lib: statistics.median(r["samples_per_s"] for r in rs) for lib, rs in got.items()}
        peak = {lib: max(r["peak_bytes"] for r in rs) for lib, rs in got.items()}
        ratio = med["chainrule"] / med["torch"]
        mem_ratio = peak["chainrule"] / max(peak["torch"], 1)
        first = {lib: [r["first_over_steady"] for r in rs[:2]] for lib, rs in got.items()}
        second_ratio = (got["chainrule"][1]["first_step_ms"] / got["torch"][1]["first_step_ms"]
                        if len(got["chainrule"]) > 1 and len(got["torch"]) > 1
                        else float("nan"))
        rows.append(dict(workload=name, batch=batch, chainrule_sps=med["chainrule"],
                         torch_sps=med["torch"], ratio=ratio, target=TARGETS[(name, batch)],
                         chainrule_peak=peak["chainrule"], torch_peak=peak["torch"],
                         mem_ratio=mem_ratio,
                         chainrule_kernels=got["chainrule"][0]["kernels_per_step"],
                         torch_kernels=got["torch"][0]["kernels_per_step"],
                         chainrule_first=first["chainrule"], torch_first=first["torch"],
                         second_first_ratio=second_ratio))
    print(f"device: {device}   (float32, TF32 off, {a.alternations} alternations, median of "
          f"{a.steps} steps after {a.warmup})")
    print(f"{'':10} {'chainrule/s':>12} {'torch/s':>10} {'ratio':>6} {'target':>6} "
          f"{'peak cr':>9} {'peak pt':>9} {'mem':>5} {'kern cr':>7} {'kern pt':>7} "
          f"{'1st cr p1,p2':>13} {'1st pt p1,p2':>13} {'2nd/pt':>6}")
    ok = True
    for r in rows:
        kcr = "-" if r["chainrule_kernels"] is None else f"{r['chainrule_kernels']:.0f}"
        kpt = "-" if r["torch_kernels"] is None else f"{r['torch_kernels']:.0f}"
        fc = ",".join(f"{v:.0f}x" for v in r["chainrule_first"])
        ft = ",".join(f"{v:.0f}x" for v in r["torch_first"])
        meets = r["ratio"] >= r["target"] and r["mem_ratio"] <= 1.2 and \
            not r["second_first_ratio"] > 2.0
        ok &= meets
        print(f"{r['workload']} b={r['batch']:<6} {r['chainrule_sps']:12.0f} "
              f"{r['torch_sps']:10.0f} {r['ratio']:6.2f} {r['target']:6.1f} "
              f"{_gib(r['chainrule_peak']):>9} {_gib(r['torch_peak']):>9} "
              f"{r['mem_ratio']:5.2f} {kcr:>7} {kpt:>7} {fc:>13} {ft:>13} "
              f"{r['second_first_ratio']:6.2f}{'' if meets else '  (target missed)'}")
    if a.json:
        Path(a.json).write_text(json.dumps({"device": device, "rows": rows, "runs": runs},
                                           indent=2))
    print("gpu_speed: all targets met" if ok else "gpu_speed: some targets missed (benchmarks "
          "are reported, not enforced)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
