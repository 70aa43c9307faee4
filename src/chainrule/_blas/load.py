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
A reading is a snapshot: while workload A trained on an idle 2-core EPYC, 3 of 33 readings
showed a third runnable thread (a shell, a kernel thread), each of which would have put A's
GEMMs on one thread for the next 0.25 s. So the estimate is the most free CPUs of the last
:data:`PERSIST` readings: load counts once it has lasted that long (0.5–0.75 s), and leaves at
once; a process already busy when training starts counts from the first reading.
Where ``/proc`` is missing (not Linux) every CPU counts as free.
"""
from __future__ import annotations

import collections
import os
import time

__all__ = ["free_cpus", "set_dynamic", "REFRESH_S", "PERSIST"]

#: seconds between two readings of the machine's load
REFRESH_S = 0.25
#: readings a drop in free CPUs must last before the estimate follows it
PERSIST = 3

_dynamic = True
_next = 0.0
_free = 0
_recent: collections.deque = collections.deque(maxlen=PERSIST)


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
    """The most of the last :data:`PERSIST` readings of :func:`measure`, one taken at most every
    :data:`REFRESH_S` seconds; every CPU this process may use when the dynamic policy is off
    (:func:`set_dynamic`)."""
    global _next, _free
    if not _dynamic:
        return _cpus()
    now = time.monotonic()
    if now >= _next:
        _recent.append(measure())
        _free = max(_recent)
        _next = now + REFRESH_S
    return _free


def set_dynamic(on: bool) -> None:
    """Whether BLAS threads and intra-op ranges follow the machine's load (the default) or
    always use :func:`~chainrule.get_num_threads`."""
    global _dynamic, _next
    _dynamic = bool(on)
    _next = 0.0
    _recent.clear()
