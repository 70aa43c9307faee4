"""Intra-op parallelism over the batch: one op's work split into contiguous ranges of samples,
one range per thread.

NumPy runs a copy, a ufunc or a reduction on one core; only its GEMMs use more (the BLAS's
threads). PyTorch splits every big op over its intra-op threads by grain size. For the ops whose
work is per sample — a convolution's im2col, its GEMMs and its layout copies, max pooling —
chainrule does the same: :func:`split_batch` runs ``fn(lo, hi)`` for up to
:func:`get_num_threads` ranges of [0, n) (fewer when other processes keep CPUs busy,
:func:`.load.free_cpus`), the first on the calling thread and the rest on a small persistent
pool, while every GEMM inside gets one BLAS thread (two levels of threads on the same cores
would fight). NumPy releases the GIL inside its loops and in BLAS calls, so the ranges run at
the same time.

An op is split only when it is big enough to pay for the hand-off (:data:`GRAIN` elements of
work per range; a sleeping thread takes 40–110 µs to wake on a 2-core VM), when the BLAS thread
count can be switched cheaply (the ctypes backend of :mod:`.threads`), once the GEMM plan is in
force (a calibration runs on one thread), and not from inside another split or another
thread's split. Elementwise ops are not split: on a 2-core Intel Xeon a LeNet step (workload
G) took 12.1 ms with its convolutions split, 13.1 with its sigmoids and average pools split too
and 13.4 with nothing split (medians of three alternating runs); batch norm, serial, sits
between them. ``fn`` must write disjoint slices; results are the same for every split up to
the order of floating-point sums that cross ranges (each caller adds those in a fixed order).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from . import gemm as _gemm
from . import load as _load
from . import threads as _threads

__all__ = ["split_batch", "over_batch", "ranges", "GRAIN"]

#: elements of work per range below which an op is not split (an op passes the elements it
#: touches, plus its GEMMs' multiply-adds / 32): about 0.1–0.3 ms of one core here, against a
#: sleeping thread's 40–110 µs to wake; at 2¹⁵ a 25-channel conv1d of workload E split and ran
#: 15–25 % slower
GRAIN = 1 << 18

_pool: ThreadPoolExecutor | None = None
_pool_pid = -1
_pool_size = 0
_busy = threading.Lock()   # held while a split runs: no nesting, one split at a time


def ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """[0, n) as ``parts`` contiguous ranges whose sizes differ by at most one."""
    q, r = divmod(n, parts)
    out, lo = [], 0
    for i in range(parts):
        hi = lo + q + (i < r)
        out.append((lo, hi))
        lo = hi
    return out


def parts_for(n: int, work: int) -> int:
    """How many ranges an op of ``n`` samples and ``work`` elements gets: 1 (run it serially)
    unless the thread policy allows more and each range keeps :data:`GRAIN` elements."""
    threads = _threads.get_num_threads()
    if threads > 1:
        threads = min(threads, _load.free_cpus())
    if threads < 2 or n < 2 or work < 2 * GRAIN or not _threads.switchable() or \
            not _gemm.plan_ready():
        return 1
    return max(1, min(threads, n, work // GRAIN))


def _executor(size: int) -> ThreadPoolExecutor:
    """The worker pool, rebuilt after a fork (its threads do not survive one) or a resize."""
    global _pool, _pool_pid, _pool_size
    if _pool is None or _pool_pid != os.getpid() or _pool_size < size:
        _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="chainrule-intraop")
        _pool_pid, _pool_size = os.getpid(), size
    return _pool


def split_batch(n: int, work: int, fn: Callable[[int, int], None]) -> None:
    """Run ``fn(lo, hi)`` over ranges covering [0, n): in parallel when :func:`parts_for` allows
    it and no other split is running, else once as ``fn(0, n)``. Every range has run (or failed)
    when this returns; the first exception raised in a range is raised here."""
    parts = parts_for(n, work)
    if parts == 1 or not _busy.acquire(blocking=False):
        fn(0, n)
        return
    try:
        spans = ranges(n, parts)
        _threads.pin_one_thread(True)
        pool = _executor(parts - 1)
        futures = [pool.submit(fn, lo, hi) for lo, hi in spans[1:]]
        error = None
        try:
            fn(*spans[0])
        except BaseException as e:      # still wait: the others write into the same arrays
            error = e
        for f in futures:
            try:
                f.result()
            except BaseException as e:
                error = error or e
        if error is not None:
            raise error
    finally:
        _threads.pin_one_thread(False)
        _busy.release()


def over_batch(xp, n: int, work: int, fn: Callable[[int, int], None]) -> None:
    """:func:`split_batch` for NumPy arrays (``xp`` is NumPy); ``fn(0, n)`` once for any other
    array module (CuPy runs its kernels on the device)."""
    if xp is np:
        split_batch(n, work, fn)
    else:
        fn(0, n)
