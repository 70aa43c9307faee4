"""How many CPUs other processes leave this one: the dynamic half of the thread policy.

A GEMM split over two BLAS threads on a 2-core machine where another process is busy gets one
core and a thread that waits for the other; OpenBLAS's helpers then spin while they wait, and
small GEMMs stall (issue #17: the digits job beside two busy processes). OpenMP's dynamic mode
(``OMP_DYNAMIC``) and MKL's ``MKL_DYNAMIC`` answer this by giving a parallel region fewer
threads when the machine is loaded; :func:`free_cpus` is chainrule's version of that estimate:

    free = (CPUs this process may run on) − (runnable threads of other processes on them)

read from Linux's ``/proc/loadavg`` (its fourth field counts every runnable thread on the
machine) minus this process's own runnable threads (``/proc/self/task/*/stat``, state ``R``),
at least 1. The reading costs ≈ 50–200 µs, so it is refreshed at most every
:data:`REFRESH_S` seconds and only when a GEMM or an op big enough for several threads asks.
Where ``/proc`` is missing (not Linux) every CPU counts as free.
"""
from __future__ import annotations

import os
import time

__all__ = ["free_cpus", "set_dynamic", "REFRESH_S"]

#: seconds between two readings of the machine's load
REFRESH_S = 0.25

_dynamic = True
_next = 0.0
_free = 0


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _runnable_machine() -> int | None:
    """Runnable threads on the machine now (``/proc/loadavg``'s "running/total"), or None."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _runnable_here() -> int:
    """This process's runnable threads (the caller among them)."""
    n = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:               # the thread ended meanwhile
            continue
        state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]   # after "(name) "
        n += state == b"R"
    return max(n, 1)


def measure() -> int:
    """CPUs not taken by other processes' runnable threads now (at least 1). Where this process
    may use only some of the machine's CPUs (a container's cpuset), the others' threads are
    counted in proportion, as if spread evenly over the CPUs."""
    cpus = _cpus()
    total = _runnable_machine()
    if total is None:
        return cpus
    others = max(0, total - _runnable_here())
    online = max(os.cpu_count() or cpus, cpus)
    return max(1, cpus - round(others * cpus / online))


def free_cpus() -> int:
    """:func:`measure`, refreshed at most every :data:`REFRESH_S` seconds; every CPU this
    process may use when the dynamic policy is off (:func:`set_dynamic`)."""
    global _next, _free
    if not _dynamic:
        return _cpus()
    now = time.monotonic()
    if now >= _next:
        _free = measure()
        _next = now + REFRESH_S
    return _free


def set_dynamic(on: bool) -> None:
    """Whether BLAS threads and intra-op ranges follow the machine's load (the default) or
    always use :func:`~chainrule.get_num_threads`."""
    global _dynamic, _next
    _dynamic = bool(on)
    _next = 0.0
