"""The load-following half of the BLAS thread policy (issue #17): free CPUs from /proc, the
refresh interval, the cpuset proportion, and GEMMs and splits that follow it."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import chainrule as cr
from chainrule._blas import load as Ld
from chainrule._blas import threads as T

linux = pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="no /proc/loadavg here")


@pytest.fixture
def fake(monkeypatch):
    """measure() over a fake machine: set ``state`` = cpus, online, runnable on the machine and
    runnable here."""
    state = {"cpus": 2, "online": 2, "machine": 1, "here": 1}
    monkeypatch.setattr(Ld, "_cpus", lambda: state["cpus"])
    monkeypatch.setattr(Ld.os, "cpu_count", lambda: state["online"])
    monkeypatch.setattr(Ld, "_runnable_machine", lambda: state["machine"])
    monkeypatch.setattr(Ld, "_runnable_here", lambda: state["here"])
    return state


@pytest.mark.parametrize("cpus, online, machine, here, free", [
    (2, 2, 1, 1, 2),        # only this thread runs: both CPUs free
    (2, 2, 2, 2, 2),        # this process's two threads: still both
    (2, 2, 3, 1, 1),        # two busy processes beside one thread of ours
    (2, 2, 9, 1, 1),        # overloaded: never below one
    (4, 4, 3, 1, 2),
    (2, 64, 31, 1, 1),      # a 2-CPU cpuset on a 64-CPU host with 30 others: 30·2/64 ≈ 1
    (2, 64, 9, 1, 2),       # 8 others spread over 64 CPUs: none on ours
])
def test_free_cpus_from_the_counts(fake, cpus, online, machine, here, free):
    fake.update(cpus=cpus, online=online, machine=machine, here=here)
    assert Ld.measure() == free


def test_no_proc_counts_every_cpu_free(fake):
    fake.update(cpus=3, machine=None)
    assert Ld.measure() == 3


def test_the_reading_is_cached_for_the_refresh_interval(monkeypatch):
    readings = iter([1, 2, 2])
    calls = []
    monkeypatch.setattr(Ld, "measure", lambda: calls.append(1) or next(readings))
    monkeypatch.setattr(Ld, "_recent", Ld.collections.deque(maxlen=Ld.PERSIST))
    monkeypatch.setattr(Ld, "_next", 0.0)
    monkeypatch.setattr(Ld, "_dynamic", True)
    clock = [100.0]
    monkeypatch.setattr(Ld.time, "monotonic", lambda: clock[0])
    assert Ld.free_cpus() == 1 and Ld.free_cpus() == 1 and len(calls) == 1
    clock[0] += Ld.REFRESH_S
    assert Ld.free_cpus() == 2 and len(calls) == 2


def test_a_drop_counts_once_it_lasts_PERSIST_readings(monkeypatch):
    """A one-reading blip of load (a shell, a kernel thread) keeps both CPUs; load that stays
    for PERSIST readings takes one away; it leaves at the first reading without it."""
    readings = iter([2, 1, 2] + [1] * Ld.PERSIST + [2])
    monkeypatch.setattr(Ld, "measure", lambda: next(readings))
    monkeypatch.setattr(Ld, "_dynamic", True)
    monkeypatch.setattr(Ld, "_recent", Ld.collections.deque(maxlen=Ld.PERSIST))
    clock = [100.0]
    monkeypatch.setattr(Ld.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(Ld, "_next", 0.0)
    seen = []
    for _ in range(4 + Ld.PERSIST):
        seen.append(Ld.free_cpus())
        clock[0] += Ld.REFRESH_S
    assert seen == [2, 2, 2] + [2] * (Ld.PERSIST - 1) + [1, 2]


def test_off_means_every_cpu(monkeypatch):
    monkeypatch.setattr(Ld, "measure", lambda: 1)
    try:
        Ld.set_dynamic(False)
        assert Ld.free_cpus() == Ld._cpus()
    finally:
        Ld.set_dynamic(True)


@pytest.mark.skipif(not T.switchable(), reason=f"no per-call thread switch ({T._backend.name})")
def test_a_big_gemm_gets_only_the_free_cpus(monkeypatch):
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(2)
        monkeypatch.setattr(Ld, "_dynamic", True)
        monkeypatch.setattr(Ld, "_next", float("inf"))       # keep the fake reading
        monkeypatch.setattr(Ld, "_free", 1)
        T.blas_threads_for(512, 512, 512)
        assert T.blas_info()["in_force"] == 1 and int(T._backend.get()) == 1
        assert T.big_threads() == 1
        monkeypatch.setattr(Ld, "_free", 2)
        T.blas_threads_for(512, 512, 512)
        assert T.blas_info()["in_force"] == 2 and int(T._backend.get()) == 2
        T.blas_threads_for(8, 8, 8)                           # small: one, whatever the load
        assert T.blas_info()["in_force"] == 1
    finally:
        cr.set_num_threads(before)


@linux
def test_real_proc_readings():
    assert Ld._runnable_machine() >= 1
    assert Ld._runnable_here() >= 1                 # this thread is running
    assert 1 <= Ld.measure() <= Ld._cpus()


@linux
@pytest.mark.skipif((os.cpu_count() or 1) != Ld._cpus(),
                    reason="this process is limited to some CPUs: others are counted in "
                           "proportion, so one busy process may not show")
def test_a_busy_process_takes_a_cpu():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        readings = [Ld.measure() for _ in range(5)]
    finally:
        busy.kill()
        busy.wait()
    assert max(readings) <= max(1, Ld._cpus() - 1)
