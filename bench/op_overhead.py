"""Per-op overhead: microseconds per op, forward plus backward, chainrule against PyTorch.

The workload (issue #9's C): a chain of ``--ops`` ops cycling through multiply, add and tanh,
    y ← y·a,  y ← y + b,  y ← tanh(y),  ...
starting from a leaf x that requires grad (a and b are constant tensors of x's shape), then
y.sum().backward(). Time per op = time of one forward+backward / ops. It runs on a 1-element and
a 64×64 float32 tensor, where the first measures pure framework overhead (Python, bookkeeping)
and the second adds a little arithmetic.

Each measurement runs in a fresh subprocess (``--worker``), alternating chainrule and PyTorch for
``--rounds`` rounds; a worker warms up, times ``--reps`` iterations and reports their median.
The table gives the median over rounds of each side and the ratio chainrule / PyTorch (below 1
means chainrule is faster), in wall time and in CPU time of the measuring thread (the second is
steadier on a shared machine; neither library parallelises ops this small); one JSON line per
case follows.

    python bench/op_overhead.py                    # the benchmark
    python bench/op_overhead.py --profile          # chainrule's 1-element case: phases, cProfile
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = {"1": (1,), "64x64": (64, 64)}


# -- one measurement (runs inside a fresh process) -------------------------------------------------
def _setup(lib: str, shape: tuple):
    """(make_leaf, a, b) for the library; both sides then run the very same chain code."""
    import numpy as np

    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, shape).astype(np.float32)
    a0 = np.full(shape, 0.9, np.float32)
    b0 = np.full(shape, 0.1, np.float32)
    if lib == "torch":
        import torch
        torch.set_num_threads(os.cpu_count())
        return (lambda: torch.tensor(x0, requires_grad=True)), torch.tensor(a0), torch.tensor(b0)
    import chainrule as cr
    return (lambda: cr.tensor(x0, requires_grad=True)), cr.tensor(a0), cr.tensor(b0)


def chain_step(x, a, b, ops: int) -> None:
    """One forward (``ops`` ops) and backward through the chain."""
    y = x
    for i in range(ops):
        k = i % 3
        if k == 0:
            y = y * a
        elif k == 1:
            y = y + b
        else:
            y = y.tanh()
    y.sum().backward()


def measure(lib: str, case: str, ops: int, reps: int, warmup: int = 3) -> dict:
    """Median wall time and median CPU time of this thread, per op, over ``reps`` iterations."""
    make_leaf, a, b = _setup(lib, CASES[case])
    x = make_leaf()
    wall, cpu = [], []
    for r in range(warmup + reps):
        x.grad = None
        t0, c0 = time.perf_counter(), time.thread_time()
        chain_step(x, a, b, ops)
        c1, t1 = time.thread_time(), time.perf_counter()
        if r >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    assert x.grad is not None and tuple(x.grad.shape) == tuple(CASES[case])
    return {"lib": lib, "case": case, "us_per_op": statistics.median(wall) / ops * 1e6,
            "cpu_us_per_op": statistics.median(cpu) / ops * 1e6}


# -- the driver ------------------------------------------------------------------------------------
def _worker(lib: str, case: str, ops: int, reps: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--case", case,
           "--ops", str(ops), "--reps", str(reps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _versions() -> dict:
    code = ("import json, numpy, torch, chainrule, os; print(json.dumps({'numpy': numpy.__version__,"
            " 'torch': torch.__version__, 'chainrule_path': os.path.dirname(chainrule.__file__)}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def run(rounds: int, ops: int, reps: int) -> list[dict]:
    results = []
    for case in CASES:
        cr_r, pt_r = [], []
        for _ in range(rounds):                 # alternate, so drifting load hits both sides
            cr_r.append(_worker("chainrule", case, ops, reps))
            pt_r.append(_worker("torch", case, ops, reps))
        row = {"bench": "op_overhead", "case": case, "shape": list(CASES[case]), "ops": ops,
               "rounds": rounds, "reps": reps}
        for key, tag in (("us_per_op", ""), ("cpu_us_per_op", "cpu_")):
            c = statistics.median(r[key] for r in cr_r)
            p = statistics.median(r[key] for r in pt_r)
            row.update({f"chainrule_{tag}us_per_op": round(c, 3),
                        f"torch_{tag}us_per_op": round(p, 3), f"{tag}ratio": round(c / p, 3)})
        row["chainrule_rounds"] = [round(r["us_per_op"], 3) for r in cr_r]
        row["torch_rounds"] = [round(r["us_per_op"], 3) for r in pt_r]
        results.append(row)
    return results


def report(results: list[dict]) -> None:
    print(f"{'':8} {'wall time, median µs/op':^34} {'CPU time, median µs/op':^34}")
    print(f"{'case':<8} {'chainrule':>10} {'PyTorch':>10} {'ratio':>7}     "
          f"{'chainrule':>10} {'PyTorch':>10} {'ratio':>7}")
    for r in results:
        print(f"{r['case']:<8} {r['chainrule_us_per_op']:>10.2f} {r['torch_us_per_op']:>10.2f} "
              f"{r['ratio']:>7.2f}     {r['chainrule_cpu_us_per_op']:>10.2f} "
              f"{r['torch_cpu_us_per_op']:>10.2f} {r['cpu_ratio']:>7.2f}")
    for r in results:
        print(json.dumps(r))


def _phases(x, a, b, ops: int, reps: int) -> dict:
    """CPU µs per op of the forward without a graph, the recorded forward, and the backward."""
    import chainrule as cr

    def forward(src):
        y = src
        for i in range(ops):
            y = y * a if i % 3 == 0 else y + b if i % 3 == 1 else y.tanh()
        return y.sum()

    const = x.detach()
    out = {"forward, no graph": [], "forward, recorded": [], "backward": []}
    for _ in range(reps):
        c0 = time.thread_time()
        forward(const)
        c1 = time.thread_time()
        x.grad = None
        loss = forward(x)
        c2 = time.thread_time()
        loss.backward()
        c3 = time.thread_time()
        for key, dt in zip(out, (c1 - c0, c2 - c1, c3 - c2)):
            out[key].append(dt)
    assert isinstance(x, cr.Tensor)
    return {k: statistics.median(v) / ops * 1e6 for k, v in out.items()}


def profile(ops: int, reps: int, top: int) -> None:
    import cProfile
    import pstats

    make_leaf, a, b = _setup("chainrule", CASES["1"])
    x = make_leaf()
    for _ in range(3):
        x.grad = None
        chain_step(x, a, b, ops)
    print(f"chainrule, 1-element tensor, {ops}-op chain: CPU µs per op by phase "
          f"(median of {reps})")
    for phase, us in _phases(x, a, b, ops, reps).items():
        print(f"  {phase:<20} {us:6.2f}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(reps):
        x.grad = None
        chain_step(x, a, b, ops)
    prof.disable()
    print(f"cProfile of {reps} × (forward + backward of a {ops}-op chain), 1-element tensor; "
          "times in the table are for all reps together")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="fresh-process rounds per side")
    ap.add_argument("--ops", type=int, default=1000, help="ops in the chain")
    ap.add_argument("--reps", type=int, default=20, help="timed iterations per process")
    ap.add_argument("--profile", action="store_true", help="cProfile chainrule's 1-element case")
    ap.add_argument("--top", type=int, default=25, help="rows of the profile to print")
    ap.add_argument("--worker", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.case, args.ops, args.reps)))
    elif args.profile:
        profile(args.ops, args.reps, args.top)
    else:
        v = _versions()
        print(f"op overhead: {args.ops}-op chain (mul, add, tanh), forward + backward, "
              f"{args.rounds} alternating fresh-process rounds of {args.reps} reps; "
              f"cpus={os.cpu_count()} numpy {v['numpy']} torch {v['torch']} "
              f"chainrule from {v['chainrule_path']}")
        report(run(args.rounds, args.ops, args.reps))


if __name__ == "__main__":
    main()
