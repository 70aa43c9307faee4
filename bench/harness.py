"""Fresh-process measurement, alternation between the libraries, and medians.

Each measurement runs in its own interpreter (``python -m bench.worker``), so no library, cache
or allocator state carries over, and a process's peak memory is its own (``ru_maxrss`` of a
child would include the parent's, which is why the worker reads VmHWM itself). Within a round
the sides run back to back, and the order flips every round (A B, B A, ...), so a drift in
the machine's load falls on both.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class WorkerError(RuntimeError):
    """A worker process failed; the message carries its command and the end of its stderr."""


def worker_env(threads: int | None) -> dict:
    """The environment of a worker: this one's, plus BLAS/OpenMP thread limits when asked."""
    env = dict(os.environ)
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def run_worker(kind: str, lib: str, params: dict, threads: int | None = None,
               timeout: float = 900) -> dict:
    """Run one measurement in a fresh interpreter and return its result dict."""
    spec = json.dumps({"kind": kind, "lib": lib, "params": params})
    cmd = [sys.executable, "-m", "bench.worker", spec]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=worker_env(threads), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WorkerError(f"worker {kind}/{lib} ran past {timeout:.0f} s: {spec}") from None
    if done.returncode != 0:
        raise WorkerError(f"worker {kind}/{lib} failed (exit {done.returncode}): {spec}\n"
                          + done.stderr[-3000:])
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise WorkerError(f"worker {kind}/{lib} printed nothing: {spec}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def alternate(kind: str, sides: dict, rounds: int, threads: int | None = None,
              timeout: float = 900, progress=None, vary_seed: bool = False) -> dict:
    """``rounds`` fresh-process measurements of each side, alternating; ``sides`` maps a library
    name to the worker's parameters. With ``vary_seed``, round r adds r to the ``seed`` (the same
    for every side within a round). Returns library → list of per-round results."""
    names = list(sides)
    out: dict = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            params = dict(sides[name], seed=sides[name]["seed"] + r) if vary_seed else \
                sides[name]
            out[name].append(run_worker(kind, name, params, threads, timeout))
            if progress:
                progress(f"{kind} {name} round {r + 1}/{rounds}")
    return out


def median(results: list, key: str) -> float:
    """Median of ``key`` over rounds; ``inf`` (in a result) counts as larger than anything."""
    return statistics.median(r[key] for r in results)


def ratio(a: float, b: float) -> float | None:
    """a / b, or None where it is undefined (b zero, either infinite)."""
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return None
    return a / b


def rounded(x, digits: int = 4):
    """Round floats (recursively in lists) for the JSON lines; inf/None become None."""
    if isinstance(x, list):
        return [rounded(v, digits) for v in x]
    if isinstance(x, float):
        return round(x, digits) if math.isfinite(x) else None
    return x
