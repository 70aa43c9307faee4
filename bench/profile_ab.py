"""Where chainrule's time goes in workloads A, B and G: phases, per-op times, GEMM share, cProfile.

    python -m bench.profile_ab                 # A and B, 30 steps each after warm-up
    python -m bench.profile_ab --only B --steps 50 --top 30
    python -m bench.profile_ab --only G        # the textbook LeNet (nn.BatchNorm), batch 128

BLAS runs single-threaded here (OPENBLAS_NUM_THREADS=1, set before NumPy loads, unless already
set) and every figure is CPU time of the calling thread, so the numbers hold on a busy machine
and add up: one step = zero_grad + forward (model) + loss + backward + optimizer step. Per op,
the forward and backward of every ``Function`` subclass are timed, and so are NumPy's GEMM
entry points (``matmul``, ``dot``, ``einsum``, ``tensordot``) called through the ``numpy``
module, so each op's time splits into GEMM and the rest. A step's "Python/bookkeeping" is what
no op accounts for: module calls, ``Function.apply``, the engine, gradient accumulation.
``--wall`` times with the wall clock instead, BLAS and the intra-op threads left at their
defaults: where a step's elapsed time goes when its ops run on both cores.
"""
from __future__ import annotations

import os
import sys
import time

WALL = "--wall" in sys.argv[1:]
if not WALL:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
CLOCK = time.perf_counter if WALL else time.thread_time

import argparse  # noqa: E402
import cProfile  # noqa: E402
import collections  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

from .models import ROOT, build, library, synthetic_batches  # noqa: E402
from .numpy_mlp import NumpyMLP  # noqa: E402
from .textbook import build_lenet  # noqa: E402
from .workloads import GEMM_SHAPE, mlp_flops  # noqa: E402

CONFIG = {"A": dict(arch="mlp", batch=128, shape=(784,)),
          "B": dict(arch="cnn2d", batch=64, shape=(1, 28, 28)),
          "G": dict(arch="lenet", batch=128, shape=(1, 28, 28))}
GEMM_NAMES = ("matmul", "dot", "einsum", "tensordot")


class Timers:
    """Thread-CPU seconds and call counts per label; ``wrap`` times a callable under a label."""

    def __init__(self):
        self.t = collections.defaultdict(float)
        self.n = collections.Counter()
        self.on = False

    def wrap(self, fn, label, describe=None):
        """``fn`` timed under ``label`` (or under ``label + describe(*args)``, e.g. shapes)."""
        clock, timers = CLOCK, self

        def timed(*args, **kwargs):
            if not timers.on:
                return fn(*args, **kwargs)
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                key = label if describe is None else label + (describe(*args),)
                timers.t[key] += clock() - t0
                timers.n[key] += 1
        return timed

    def reset(self):
        self.t.clear()
        self.n.clear()


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _layout(a) -> str:
    """An operand as shape plus C/F/strided (a transposed view shows as F)."""
    if not hasattr(a, "flags"):
        return type(a).__name__
    kind = "C" if a.flags.c_contiguous else "F" if a.flags.f_contiguous else "strided"
    return "x".join(map(str, a.shape)) + kind


def _operands(*args) -> str:
    return " @ ".join(_layout(a) for a in args[:2] if hasattr(a, "shape"))


def instrument(timers: Timers) -> list:
    """Time every Function subclass's forward/backward and NumPy's GEMM entry points (these
    by operand shape and layout); returns what to undo."""
    from chainrule.autograd.function import Function
    undo = []
    for sub in set(_subclasses(Function)):
        for phase in ("forward", "backward"):
            if phase in sub.__dict__:
                undo.append((sub, phase, sub.__dict__[phase]))
                setattr(sub, phase, timers.wrap(sub.__dict__[phase], (sub.__name__, phase)))
    for name in GEMM_NAMES:
        undo.append((np, name, getattr(np, name)))
        setattr(np, name, timers.wrap(getattr(np, name), ("GEMM", name), _operands))
    return undo


def uninstrument(undo: list) -> None:
    for owner, name, original in undo:
        setattr(owner, name, original)


def phases(model, opt, F, data, steps: int) -> dict:
    """Median thread-CPU ms per step of each phase."""
    out = collections.defaultdict(list)
    clock = CLOCK
    for i in range(steps):
        x, y = data[i % len(data)]
        t0 = clock()
        opt.zero_grad()
        t1 = clock()
        logits = model(x)
        t2 = clock()
        loss = F.cross_entropy(logits, y)
        t3 = clock()
        loss.backward()
        t4 = clock()
        opt.step()
        t5 = clock()
        for k, dt in (("zero_grad", t1 - t0), ("forward (model)", t2 - t1), ("loss", t3 - t2),
                      ("backward", t4 - t3), ("optimizer step", t5 - t4), ("step", t5 - t0)):
            out[k].append(dt * 1e3)
    return {k: statistics.median(v) for k, v in out.items()}


def _step(model, opt, F, x, y):
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


def _trainer(lib: str, wl: str, warmup: int):
    """(step(i), (model, opt, library, data)) for workload ``wl`` in ``lib``, warmed up."""
    cfg = CONFIG[wl]
    L = library(lib, int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or None)
    data = [(L.from_numpy(x), L.from_numpy(y))
            for x, y in synthetic_batches(cfg["shape"], cfg["batch"], 8, 1)]
    if cfg["arch"] == "lenet":  # workload G: plain SGD, as bench.textbook trains it
        model = build_lenet(L, "nn", 0)
        opt = L.optim.SGD(model.parameters(), lr=0.01)
    else:
        model = build(L, cfg["arch"], 0)
        opt = L.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(i):
        _step(model, opt, L.F, *data[i % len(data)])
    for i in range(warmup):
        step(i)
    return step, (model, opt, L, data)


def interleaved(fns: dict, steps: int) -> dict:
    """Median thread-CPU ms of each callable, called round-robin (so load drifts hit all)."""
    times = {k: [] for k in fns}
    for i in range(steps):
        for k, fn in fns.items():
            c0 = CLOCK()
            fn(i)
            times[k].append(CLOCK() - c0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def profile(wl: str, steps: int, warmup: int, top: int, with_torch: bool = True) -> None:
    step, (model, opt, L, data) = _trainer("chainrule", wl, warmup)
    print(f"== {wl}: {CONFIG[wl]['arch']}, batch {CONFIG[wl]['batch']}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}; {'wall' if WALL else 'thread CPU'} ms per step, "
          f"median of {steps}")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    ph = phases(model, opt, L.F, data, steps)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print("  chainrule phases: " + ", ".join(f"{k} {v:.3f}" for k, v in ph.items()))
    print(f"  minor page faults {(r1.ru_minflt - r0.ru_minflt) / steps:.0f} per step; system "
          f"(kernel) CPU {(r1.ru_stime - r0.ru_stime) / steps * 1e3:.3f} ms per step")

    prof = cProfile.Profile()
    prof.enable()
    for i in range(steps):
        step(i)
    prof.disable()

    timers = Timers()
    undo = instrument(timers)
    timers.on = True
    try:
        c0 = CLOCK()
        for i in range(steps):
            step(i)
        total = (CLOCK() - c0) / steps * 1e3
    finally:
        timers.on = False
        uninstrument(undo)
    per = {k: v / steps * 1e3 for k, v in timers.t.items()}
    gemm = sum(v for k, v in per.items() if k[0] == "GEMM")
    ops = sum(v for k, v in per.items() if k[0] != "GEMM")
    print(f"  instrumented step {total:.3f} ms: GEMM {gemm:.3f} ({gemm / total:.0%}), ops' "
          f"forward/backward other than GEMM {ops - gemm:.3f} ({(ops - gemm) / total:.0%}), "
          f"outside ops (modules, apply, engine, optimizer, loss wrapper) {total - ops:.3f} "
          f"({(total - ops) / total:.0%}; timer overhead included)")
    print(f"  {'op (GEMM: by operands; F = a transposed view)':<52}{'calls/step':>11}"
          f"{'ms/step':>9}")
    for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {'.'.join(k):<52}{timers.n[k] / steps:>11.1f}{v:>9.3f}")
    # PyTorch last: importing it changes the process's allocator behaviour (no page faults)
    fns = {"chainrule": step}
    if with_torch:
        fns["PyTorch"] = _trainer("torch", wl, warmup)[0]
    if wl == "A":
        net = NumpyMLP(0)
        raw = synthetic_batches((784,), 128, 8, 1)
        for i in range(warmup):
            net.step(*raw[i % len(raw)])
        fns["NumPy by hand"] = lambda i: net.step(*raw[i % len(raw)])
        m, k, n = GEMM_SHAPE
        per_gemm = mlp_flops(CONFIG["A"]["batch"]) / (2 * m * k * n)
        a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
        out = np.empty((m, n), np.float32)
        fns["sgemm"] = lambda i: np.matmul(a, b, out=out)
    cmp = interleaved(fns, steps)
    print("  interleaved steps: " + ", ".join(f"{k} {v:.3f}" for k, v in cmp.items()
                                               if k != "sgemm"))
    if wl == "A":
        roof = cmp["sgemm"] * per_gemm
        print(f"  roofline F = {per_gemm:.3f} × sgemm 128x784x512 ({cmp['sgemm']:.3f}) = "
              f"{roof:.3f} ms: " + ", ".join(f"{k} {v / roof:.2f}× F" for k, v in cmp.items()
                                             if k != "sgemm"))

    if top:
        print(f"  cProfile, {steps} steps (uninstrumented), by tottime:")
        pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="A,B")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--top", type=int, default=25, help="rows of the cProfile table")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch's reference step")
    ap.add_argument("--wall", action="store_true",
                    help="wall clock, default threads (read at import, before NumPy loads)")
    args = ap.parse_args(argv)
    wls = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    if len(wls) == 1:
        profile(wls[0], args.steps, args.warmup, args.top, not args.no_torch)
        return
    for wl in wls:  # one fresh process each: PyTorch, once imported, changes the allocator's state
        cmd = [sys.executable, "-m", "bench.profile_ab", "--only", wl, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--top", str(args.top)] + \
            (["--wall"] if args.wall else [])
        subprocess.run(cmd + (["--no-torch"] if args.no_torch else []), check=True,
                       cwd=ROOT)


if __name__ == "__main__":
    main()
