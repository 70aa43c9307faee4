"""One measurement of each workload, run inside a fresh worker process (``bench.worker``).

Every function takes the library name (``chainrule`` or ``torch``) and the workload's
parameters, runs the very same code against either library (through ``bench.models.library``)
and returns a dict of plain numbers. Time is taken per step with ``perf_counter`` (wall),
``thread_time`` (CPU of the calling thread: steadier on a shared machine, but it leaves out
work that BLAS or PyTorch hands to other threads) and ``process_time`` (CPU of all threads,
including time helper threads spend spinning while they wait for a core).
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from .models import MLP_LAYERS, build, library, mnist1d_arrays, synthetic_batches

#: the shape of A's GEMM that sets the roofline (F): (batch × 784) · (784 × 512)
GEMM_SHAPE = (128, 784, 512)


def train_step(model, opt, F, x, y):
    """One step of training with softmax cross-entropy; returns the loss tensor."""
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _median_ms(values) -> float:
    return statistics.median(values) * 1e3


def train_throughput(lib: str, arch: str, batch: int, warmup: int, steps: int, lr: float,
                     momentum: float, seed: int, threads: int | None = None,
                     gemm_reps: int = 0) -> dict:
    """Median step time of steady-state SGD-with-momentum training (after ``warmup`` steps) on
    synthetic batches (A: ``arch='mlp'``, B: ``arch='cnn2d'``); samples/s = batch / median.
    With ``gemm_reps``, NumPy's float32 GEMM at :data:`GEMM_SHAPE` is then timed in the same
    process (the roofline F, taken under the same conditions as the step it is compared with)."""
    L = library(lib, threads)
    shape = (784,) if arch == "mlp" else (1, 28, 28)
    data = [(L.from_numpy(x), L.from_numpy(y))
            for x, y in synthetic_batches(shape, batch, 8, seed + 1)]
    model = build(L, arch, seed)
    opt = L.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    wall, cpu, proc, losses = [], [], [], []
    for i in range(warmup + steps):
        x, y = data[i % len(data)]
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        loss = train_step(model, opt, L.F, x, y)
        t1, c1, p1 = time.perf_counter(), time.thread_time(), time.process_time()
        if i == 0 or i == warmup + steps - 1:
            losses.append(float(loss.item()))
        if i >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
            proc.append(p1 - p0)
    out = {"step_ms": _median_ms(wall), "cpu_step_ms": _median_ms(cpu),
           "proc_step_ms": _median_ms(proc), "samples_per_s": batch / statistics.median(wall),
           "cpu_samples_per_s": batch / max(statistics.median(cpu), 1e-9),
           "first_loss": losses[0], "last_loss": losses[-1], "steps": steps}
    if gemm_reps:
        out.update(gemm_rate(gemm_reps))
    return out


def gemm_rate(reps: int, warmup: int = 5) -> dict:
    """NumPy float32 ``matmul`` at :data:`GEMM_SHAPE` into a preallocated output: median time
    (wall and thread CPU) and the wall rate in GFLOP/s (2·m·k·n FLOPs per product)."""
    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    wall, cpu = [], []
    for i in range(warmup + reps):
        t0, c0 = time.perf_counter(), time.thread_time()
        np.matmul(a, b, out=out)
        t1, c1 = time.perf_counter(), time.thread_time()
        if i >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    t = statistics.median(wall)
    return {"gemm_ms": t * 1e3, "gemm_cpu_ms": _median_ms(cpu),
            "gemm_gflops": 2 * m * k * n / t / 1e9}


def mlp_flops(batch: int) -> int:
    """A's FLOPs per training step: 6 · batch · Σ in·out (2 forward, 4 backward per weight)."""
    return 6 * batch * sum(i * o for i, o in MLP_LAYERS)


def _vm_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory(lib: str, batch: int, steps: int, lr: float, momentum: float, seed: int,
                threads: int | None = None) -> dict:
    """D: the process's peak resident set (VmHWM) after training A for ``steps`` steps, and the
    part of it already reached after importing the library (before any model or data)."""
    hwm_start = _vm_kib("VmHWM")
    L = library(lib, threads)
    hwm_import = _vm_kib("VmHWM")
    data = [(L.from_numpy(x), L.from_numpy(y))
            for x, y in synthetic_batches((784,), batch, 8, seed + 1)]
    model = build(L, "mlp", seed)
    opt = L.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for i in range(steps):
        x, y = data[i % len(data)]
        loss = train_step(model, opt, L.F, x, y)
    return {"peak_mib": _vm_kib("VmHWM") / 1024, "import_peak_mib": hwm_import / 1024,
            "interpreter_peak_mib": hwm_start / 1024, "last_loss": float(loss.item()),
            "steps": steps}


def time_to_accuracy(lib: str, target: float, batch: int, lr: float, eval_every: int,
                     max_seconds: float, max_steps: int, seed: int,
                     threads: int | None = None) -> dict:
    """E: Adam on MNIST-1D with the #8 CNN from the suite's initial weights, mini-batches in a
    seeded order (the same for both libraries), test accuracy every ``eval_every`` steps; the
    wall time (training plus evaluations) until the accuracy first reaches ``target``, or
    ``reached: False`` once ``max_seconds`` or ``max_steps`` pass first."""
    L = library(lib, threads)
    d = mnist1d_arrays()
    x_test, y_test = L.from_numpy(d["x_test"]), d["y_test"]
    model = build(L, "cnn1d", seed)
    opt = L.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed + 2)
    n = len(d["y"])
    order, pos = rng.permutation(n), 0
    history = []
    step, reached, acc = 0, False, 0.0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        if pos + batch > n:
            order, pos = rng.permutation(n), 0
        idx = order[pos:pos + batch]
        pos += batch
        train_step(model, opt, L.F, L.from_numpy(d["x"][idx]), L.from_numpy(d["y"][idx]))
        step += 1
        if step % eval_every == 0:
            with L.no_grad():
                pred = model(x_test).numpy().argmax(axis=1)
            acc = float((pred == y_test).mean())
            history.append(round(acc, 4))
            if acc >= target:
                reached = True
                break
        elapsed = time.perf_counter() - t0
        if elapsed > max_seconds or step >= max_steps:
            break
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    return {"reached": reached, "seconds": wall, "cpu_seconds": cpu, "steps": step,
            "accuracy": acc, "best_accuracy": max(history, default=0.0), "history": history}


def op_overhead(lib: str, case: str, ops: int, reps: int) -> dict:
    """C: µs per op of bench/op_overhead.py's chain (its own measurement code, reused)."""
    from . import op_overhead as oo
    return oo.measure(lib, case, ops, reps)


def lenet(lib: str, **params) -> dict:
    """G: one epoch of the textbook LeNet (bench/textbook.py)."""
    from .textbook import lenet_epoch
    return lenet_epoch(lib, **params)


def digits_torch(lib: str, **params) -> dict:
    """H's PyTorch side: the digits job written in PyTorch (bench/digits_job.py)."""
    from .digits_job import torch_digits
    return torch_digits(**params)


MEASURES = {"train": train_throughput, "memory": peak_memory, "accuracy": time_to_accuracy,
            "op_overhead": op_overhead, "lenet": lenet, "digits_torch": digits_torch}


def measure(kind: str, lib: str, params: dict) -> dict:
    """Dispatch one measurement (what ``bench.worker`` runs)."""
    return MEASURES[kind](lib, **params)
