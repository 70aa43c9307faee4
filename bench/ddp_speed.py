"""Data-parallel speed on workload A (MLP 784-512-512-10, SGD momentum, global batch 256, float32).

    python bench/ddp_speed.py                    # 5 alternating rounds, 40 timed steps each
    python bench/ddp_speed.py --rounds 7 --steps 60

Three sides, each a fresh set of processes per round, every BLAS (and PyTorch) at 1 thread:
  cr-1    chainrule, one process, batch 256
  cr-2    chainrule DistributedDataParallel, 2 MPI ranks (mpiexec), 128 each, bucket_cap_mb=1
  torch-2 PyTorch DDP over gloo, 2 processes (env:// on 127.0.0.1), 128 each, bucket_cap_mb=1
A step is zero_grad, forward, cross-entropy, backward (with the allreduces), optimizer step; a
side's figure is the median step of rank 0 after warm-up. Printed: the CPU (lscpu), per side the
median over rounds and the spread (min–max), the ratios, and for cr-2 the hidden share of the
allreduce time, 1 − (time blocked waiting for the buckets at the end of backward) / (the same
bucket allreduces started together and waited for, timed alone after training). The blocked time
also holds any wait for the slower rank, so on a loaded machine the share can even be negative.
A busy machine makes every figure noisy: trust only runs on a quiet one.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH, SIZES, LR, MOMENTUM, CAP_MB = 256, (784, 512, 512, 10), 0.01, 0.9, 1
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "VECLIB_MAXIMUM_THREADS": "1"}


def _data(batch: int, rank: int, steps: int):
    import numpy as np
    rng = np.random.default_rng(1234 + rank)
    return [(rng.standard_normal((batch, SIZES[0])).astype(np.float32),
             rng.integers(0, SIZES[-1], batch)) for _ in range(min(steps, 8))]


def _report(times: list, warmup: int, extra: dict) -> None:
    timed = times[warmup:]
    print(json.dumps(dict(step_ms=1e3 * statistics.median(timed), **extra)), flush=True)


# -- workers -----------------------------------------------------------------------------------
def worker_chainrule(steps: int, warmup: int, distributed: bool) -> None:
    import chainrule as cr
    from chainrule import nn
    world = 1
    if distributed:
        import chainrule.distributed as dist
        dist.init()
        world, rank = dist.get_world_size(), dist.get_rank()
    else:
        rank = 0
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]),
                          nn.ReLU(), nn.Linear(SIZES[2], SIZES[3]))
    net = cr.distributed.DistributedDataParallel(model, bucket_cap_mb=CAP_MB) if distributed \
        else model
    opt = cr.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    data = [(cr.tensor(x), cr.tensor(y)) for x, y in _data(GLOBAL_BATCH // world, rank, steps)]
    if distributed:
        net._comm.Barrier()
    times = []
    for i in range(steps):
        x, y = data[i % len(data)]
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        if i + 1 == warmup and distributed:
            net.comm_stats.update(steps=0, wait_seconds=0.0)
    extra: dict = {"side": "cr-2" if distributed else "cr-1"}
    if distributed:
        from mpi4py import MPI
        wait_ms = 1e3 * net.comm_stats["wait_seconds"] / max(net.comm_stats["steps"], 1)
        alone = []
        for _ in range(20):
            net._comm.Barrier()
            t0 = time.perf_counter()
            reqs = [net._comm.Iallreduce(MPI.IN_PLACE, b.buffer, op=MPI.SUM) for b in net._buckets]
            MPI.Request.Waitall(reqs)
            alone.append(time.perf_counter() - t0)
        alone_ms = 1e3 * statistics.median(alone)
        extra.update(wait_ms=wait_ms, allreduce_alone_ms=alone_ms, buckets=len(net._buckets),
                     hidden_share=1 - wait_ms / alone_ms if alone_ms > 0 else None)
    if rank == 0:
        _report(times, warmup, extra)


def worker_torch(steps: int, warmup: int) -> None:
    import torch
    import torch.distributed as tdist
    from torch import nn
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", init_method="env://")
    world, rank = tdist.get_world_size(), tdist.get_rank()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]),
                          nn.ReLU(), nn.Linear(SIZES[2], SIZES[3]))
    net = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=CAP_MB)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in
            _data(GLOBAL_BATCH // world, rank, steps)]
    tdist.barrier()
    times = []
    for i in range(steps):
        x, y = data[i % len(data)]
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        _report(times, warmup, {"side": "torch-2"})
    tdist.destroy_process_group()


# -- the driver --------------------------------------------------------------------------------
def _env() -> dict:
    env = dict(os.environ, **ONE_THREAD)
    env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def _json_line(out: str, what: str) -> dict:
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"{what} printed no result:\n{out[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_side(side: str, steps: int, warmup: int, timeout: float) -> dict:
    me = [sys.executable, str(Path(__file__).resolve()), "--steps", str(steps), "--warmup",
          str(warmup)]
    env = _env()
    if side == "cr-1":
        p = subprocess.run(me + ["--worker", "cr-1"], env=env, capture_output=True, text=True,
                           timeout=timeout)
        return _json_line(p.stdout + p.stderr, side)
    if side == "cr-2":
        mpiexec = Path(sys.executable).with_name("mpiexec")
        p = subprocess.run([str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", "2", *me,
                            "--worker", "cr-2"], env=env, capture_output=True, text=True,
                           timeout=timeout)
        return _json_line(p.stdout + p.stderr, side)
    port = _free_port()
    procs = [subprocess.Popen(me + ["--worker", "torch-2"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env=dict(env, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                                       RANK=str(r), WORLD_SIZE="2"))
             for r in range(2)]
    outs = [p.communicate(timeout=timeout)[0] for p in procs]
    return _json_line(outs[0], side)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown (no lscpu)"
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40, help="steps per run, warm-up included")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--worker", choices=["cr-1", "cr-2", "torch-2"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.warmup >= a.steps:
        ap.error("--warmup must be smaller than --steps")
    if a.worker == "torch-2":
        return worker_torch(a.steps, a.warmup)
    if a.worker:
        return worker_chainrule(a.steps, a.warmup, distributed=a.worker == "cr-2")
    print(f"CPU: {_cpu_model()}; {os.cpu_count()} logical CPUs; load {os.getloadavg()}")
    print(f"workload A: MLP {'-'.join(map(str, SIZES))}, SGD momentum {MOMENTUM}, global batch "
          f"{GLOBAL_BATCH}, float32, bucket_cap_mb={CAP_MB}, 1 BLAS thread per process; "
          f"{a.rounds} alternating rounds of {a.steps} steps ({a.warmup} warm-up)")
    sides = ("cr-1", "cr-2", "torch-2")
    results: dict = {s: [] for s in sides}
    for r in range(a.rounds):
        order = sides if r % 2 == 0 else tuple(reversed(sides))
        for s in order:
            res = run_side(s, a.steps, a.warmup, a.timeout)
            results[s].append(res)
            print(f"  round {r + 1} {s}: {res['step_ms']:.2f} ms/step", file=sys.stderr,
                  flush=True)
    med = {}
    print(f"{'side':8} {'median ms/step':>15} {'spread (min–max)':>20}")
    for s in sides:
        ms = [x["step_ms"] for x in results[s]]
        med[s] = statistics.median(ms)
        print(f"{s:8} {med[s]:15.2f} {min(ms):9.2f} – {max(ms):8.2f}")
    print(f"speed-up cr-2 over cr-1: {med['cr-1'] / med['cr-2']:.2f}×; "
          f"cr-2 step / torch-2 step: {med['cr-2'] / med['torch-2']:.2f} "
          f"(torch-2 step / cr-2 step {med['torch-2'] / med['cr-2']:.2f})")
    hidden = [x["hidden_share"] for x in results["cr-2"] if x.get("hidden_share") is not None]
    waits = [x["wait_ms"] for x in results["cr-2"]]
    alone = [x["allreduce_alone_ms"] for x in results["cr-2"]]
    if hidden:
        print(f"cr-2 allreduce: {results['cr-2'][0]['buckets']} buckets, blocked in wait "
              f"{statistics.median(waits):.3f} ms/step, alone {statistics.median(alone):.3f} ms; "
              f"hidden share {statistics.median(hidden):.0%} "
              f"(spread {min(hidden):.0%} – {max(hidden):.0%})")
    print(json.dumps({"cpu": _cpu_model(), "results": results}))


if __name__ == "__main__":
    main()
