"""Calibrating the GEMM dispatch: time NumPy's ``@`` against each installed CBLAS on the shapes
that matter, pick per bucket, and cache the choice on disk.

A shape is (m, n, k, A transposed, B transposed, dtype), with its operands laid out as the
call sites lay them out (``F.linear``'s ``x @ W.T``, ``G @ W``, ``Gᵀ @ x``; im2col's
``cols @ W`` and its backward). Every candidate runs the same shape in turn, interleaved, for a
few repetitions, in short blocks (alternating calls would let one library's spinning helper
threads slow the next), the order reversed halfway; a library wins a shape when its median time
is below 0.95 of NumPy's *best* (within 5 % counts as noise and NumPy keeps it; a stall in
NumPy's runs, as a machine busy with other processes causes, does not make the library win).
A bucket goes to the library that wins every calibrated shape in it; a plan uses one library
besides NumPy at most (the one saving the most time), so no more than two thread pools take
turns; a bucket that library did not win stays with NumPy. Last, each dtype's shapes run back
to back, as a training step calls them, under the plan and under NumPy alone: where the plan is
not faster there (two thread pools taking turns can cost more than either library saves), that
dtype's buckets all go back to NumPy.

The plan is kept in ``$XDG_CACHE_HOME/chainrule`` (else ``~/.cache/chainrule``) as
``gemm-<cpu hash>-<libraries hash>.json`` — one file per CPU model and library set (paths,
sizes, modification times, versions), a plan per BLAS thread count inside it — written
atomically. A file that cannot be read, does not parse or does not match is recalibrated and
rewritten; an unwritable cache directory only means the plan lives in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from typing import Callable, Sequence

import numpy as np

from . import threads as _threads
from .gemm import bucket

__all__ = ["SHAPES", "calibrate", "plan_for", "cache_path", "cpu_key", "libraries_key"]

FORMAT = 3
#: noise margin: a library must be this much faster than NumPy (median and best) to win
MARGIN = 0.95

# (m, n, k, A transposed, B transposed): workload A's MLP 784-512-512-10 at batch 128, forward
# x @ Wᵀ and backward G @ W, Gᵀ @ x; then LeNet-style im2col products (batch 128: 5×5 conv
# 1→6 on 28×28, 6→16 on 12×12) forward cols @ W and backward colsᵀ @ G, G @ Wᵀ
_MLP = [(128, 512, 784, False, True), (128, 784, 512, False, False), (512, 784, 128, True, False),
        (128, 512, 512, False, True), (128, 512, 512, False, False), (512, 512, 128, True, False),
        (128, 10, 512, False, True), (128, 512, 10, False, False), (10, 512, 128, True, False)]
_CONV = [(73728, 6, 25, False, False), (25, 6, 73728, True, False), (73728, 25, 6, False, True),
         (8192, 16, 150, False, False), (150, 16, 8192, True, False),
         (8192, 150, 16, False, True)]
SHAPES = [s + ("f",) for s in _MLP + _CONV] + [s + ("d",) for s in _MLP[:3]]


class NumPyGemm:
    """The baseline: NumPy's ``@`` under chainrule's thread policy."""

    name = "numpy"

    def gemm(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _threads.blas_threads_for(a.shape[0], b.shape[1], a.shape[1])
        return a @ b


def _operands(m: int, n: int, k: int, ta: bool, tb: bool, char: str, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(char)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(char)
    return (a.T if ta else a), (b.T if tb else b)


def _time_shape(libs: Sequence, a, b, budget_s: float, max_reps: int,
                clock: Callable[[], float]) -> dict[str, list[float]]:
    """Times of each library on a @ b: in blocks (a library's spinning helper threads would
    slow the next one if calls alternated), the order reversed for the second half; at least
    one timed call per block, more while the block's share of ``budget_s`` lasts."""
    times: dict[str, list[float]] = {lib.name: [] for lib in libs}
    reps = max(1, max_reps // 2)
    per_block = budget_s / (2 * len(libs))
    for half, order in enumerate((list(libs), list(libs)[::-1])):
        for lib in order:
            if half == 0:
                lib.gemm(a, b)  # warm-up: pages, thread pools, the library's first-call setup
            start = clock()
            for _ in range(reps):
                t0 = clock()
                lib.gemm(a, b)
                times[lib.name].append(clock() - t0)
                if t0 - start > per_block:
                    break
    return times


def calibrate(libs: Sequence, shapes: Sequence = SHAPES, budget_s: float = 1.5,
              baseline=None, max_reps: int = 25, clock: Callable[[], float] = time.perf_counter,
              seed: int = 0) -> tuple[dict[str, str], list[dict]]:
    """Time ``baseline`` (NumPy's ``@``) and ``libs`` on ``shapes`` within about ``budget_s``;
    return ({bucket: winner name or "numpy"}, one record per shape with the medians in µs)."""
    base = baseline or NumPyGemm()
    everyone = [base] + list(libs)
    rng = np.random.default_rng(seed)
    per_shape = budget_s / max(1, len(shapes))
    records, wins = [], {}
    deadline = clock() + budget_s
    for m, n, k, ta, tb, char in shapes:
        a, b = _operands(m, n, k, ta, tb, char, rng)
        late = clock() > deadline  # a busy machine: one timed call per block from here on
        t = _time_shape(everyone, a, b, 0.0 if late else per_shape, max_reps, clock)
        med = {name: float(np.median(v)) for name, v in t.items()}
        best = {name: float(np.min(v)) for name, v in t.items()}
        # conservative, for a machine others load: the library's typical time against
        # NumPy's best one (a stall in NumPy's runs does not make the library look faster)
        winners = [lib.name for lib in libs if med[lib.name] < MARGIN * best[base.name]]
        key = bucket(char, m, n, k, ta, tb)
        records.append({"shape": [m, n, k], "trans": ("T" if ta else "N") + ("T" if tb else "N"),
                        "dtype": char, "bucket": key, "reps": len(t[base.name]),
                        "median_us": {nm: round(v * 1e6, 1) for nm, v in med.items()},
                        "best_us": {nm: round(v * 1e6, 1) for nm, v in best.items()},
                        "winners": winners})
        wins.setdefault(key, []).append((set(winners), med))
    # one library besides NumPy at most (two thread pools, not three): the one saving most
    saved = {lib.name: 0.0 for lib in libs}
    for entries in wins.values():
        common = set.intersection(*(w for w, _ in entries))
        for nm in common:
            saved[nm] += sum(md[base.name] - md[nm] for _, md in entries)
    best_lib = max(saved, key=saved.get) if saved and max(saved.values()) > 0 else None
    plan = {}
    for key, entries in wins.items():
        won = all(best_lib in w for w, _ in entries)
        plan[key] = best_lib if won else "numpy"
    if best_lib is not None:
        lib = next(x for x in libs if x.name == best_lib)
        records += _check_in_sequence(plan, shapes, lib, base, clock, seed)
    return plan, records


def _check_in_sequence(plan: dict, shapes: Sequence, lib, base, clock: Callable[[], float],
                       seed: int, rounds: int = 5) -> list[dict]:
    """Training calls the GEMMs of one dtype back to back, so a plan that mixes libraries hands
    the work from one thread pool to the other many times a step, and a pool still spinning
    after its call can take the core the next library needs (seen on an Intel Xeon: a float64
    MLP 3× slower with one bucket on scipy-openblas32 beside NumPy's OpenBLAS). Per dtype, run
    its shapes in order under the plan and under NumPy alone, alternating ``rounds`` times;
    unless the plan's median is below ``MARGIN`` × NumPy's, every bucket of that dtype goes
    back to NumPy (``plan`` is changed in place). Returns one record per dtype checked."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for char in sorted({s[5] for s in shapes}):
        mine = [s for s in shapes if s[5] == char]
        keys = [bucket(char, m, n, k, ta, tb) for m, n, k, ta, tb, _ in mine]
        if all(plan.get(key, "numpy") == "numpy" for key in keys):
            continue
        operands = [_operands(m, n, k, ta, tb, char, rng) for m, n, k, ta, tb, _ in mine]
        routes = {"plan": [lib if plan.get(key) == lib.name else base for key in keys],
                  "numpy": [base] * len(keys)}
        times: dict[str, list[float]] = {"plan": [], "numpy": []}
        for r in range(rounds + 1):             # round 0 warms both up and is not kept
            for side in (("plan", "numpy") if r % 2 else ("numpy", "plan")):
                t0 = clock()
                for who, (a, b) in zip(routes[side], operands):
                    who.gemm(a, b)
                if r:
                    times[side].append(clock() - t0)
        med = {side: float(np.median(v)) for side, v in times.items()}
        kept = med["plan"] < MARGIN * med["numpy"]
        if not kept:
            for key in keys:
                plan[key] = "numpy"
        out.append({"sequence": char, "library": lib.name, "shapes": len(mine), "kept": kept,
                    "median_us": {side: round(v * 1e6, 1) for side, v in med.items()}})
    return out


def cache_dir() -> str:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "chainrule")


def cpu_key() -> str:
    """This CPU: /proc/cpuinfo's model name and flags, and the core count."""
    model, flags = "unknown", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1].strip()
                if model != "unknown" and flags:
                    break
    except OSError:
        import platform
        model = platform.processor() or platform.machine()
    digest = hashlib.sha1(flags.encode()).hexdigest()[:12]
    return f"{model} | {os.cpu_count()} cpus | flags {digest}"


def libraries_key(libs: Sequence) -> list[str]:
    """The libraries timed, NumPy's included: name, version, file, size and mtime."""
    out = [f"numpy {np.__version__} | {_threads.blas_info()['library']}"]
    for lib in libs:
        try:
            st = os.stat(lib.path)
            stamp = f"{st.st_size} {int(st.st_mtime)}"
        except OSError:
            stamp = "?"
        out.append(f"{lib.name} | {lib.version} | {os.path.realpath(lib.path)} | {stamp}")
    return out


def cache_path(libs: Sequence) -> str:
    """``<cache dir>/gemm-<cpu hash>-<libraries hash>.json``."""
    h = lambda s: hashlib.sha1(s.encode()).hexdigest()[:10]  # noqa: E731
    name = f"gemm-{h(cpu_key())}-{h(json.dumps(libraries_key(libs)))}.json"
    return os.path.join(cache_dir(), name)


def _read(path: str, libs: Sequence) -> dict | None:
    """The cache file's contents if it parses and matches this CPU and these libraries."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or data.get("cpu") != cpu_key() or data.get("libraries") != libraries_key(libs)
            or not isinstance(data.get("plans"), dict)):
        return None
    return data


def _valid_plan(entry, names: set[str]) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("buckets"), dict)
            and all(isinstance(k, str) and v in names for k, v in entry["buckets"].items()))


def _write_atomic(path: str, data: dict) -> bool:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".gemm-", suffix=".tmp", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return True
    except OSError:
        return False


def plan_for(libs: Sequence, force: bool = False, **calibrate_kw) -> tuple[dict, dict]:
    """({bucket: library object} — NumPy's buckets left out — , info) for the current BLAS
    thread count: from the cache when it holds a valid plan for it, else by calibrating (and
    saving)."""
    by_name = {lib.name: lib for lib in libs}
    names = set(by_name) | {"numpy"}
    path = cache_path(libs)
    threads = str(_threads.get_num_threads())
    data = None if force else _read(path, libs)
    entry = data["plans"].get(threads) if data else None
    calibrated = False
    if not _valid_plan(entry, names):
        t0 = time.perf_counter()
        buckets, records = calibrate(libs, **calibrate_kw)
        entry = {"buckets": buckets, "records": records,
                 "seconds": round(time.perf_counter() - t0, 3),
                 "load_average": [round(x, 2) for x in os.getloadavg()],
                 "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        if data is None:
            data = {"format": FORMAT, "cpu": cpu_key(), "libraries": libraries_key(libs),
                    "plans": {}}
        data["plans"][threads] = entry
        _write_atomic(path, data)
        calibrated = True
    plan = {k: by_name[v] for k, v in entry["buckets"].items() if v != "numpy"}
    info = {"buckets": dict(entry["buckets"]), "threads": int(threads),
            "libraries": {lib.name: lib.version for lib in libs}, "cache": path,
            "calibrated": calibrated, "seconds": entry.get("seconds"),
            "records": entry.get("records", [])}
    return plan, info
