"""A failing rank stops every rank within seconds, and the output names it."""
from __future__ import annotations

import re

import pytest

from .mpirun import run_mpi

LOOP = """
import os, signal, sys, threading, time
import chainrule, chainrule.distributed as dist
dist.init()
r = dist.get_rank()
t = chainrule.ones(4)
for step in range(1000):
    dist.post_step(step)
    FAULT
    dist.all_reduce(t)
    time.sleep(0.01)
"""


def run_fault(fault: str, n: int = 3, timeout_env: str = "2"):
    result = run_mpi(LOOP.replace("FAULT", fault), n=n, timeout=45,
                     env={"CHAINRULE_DIST_TIMEOUT": timeout_env})
    assert not result.timed_out, result.explain()
    assert result.returncode != 0, result.explain()
    assert result.elapsed < 30, result.explain()
    return result


@pytest.mark.parametrize("where", ["main", "thread"])
def test_an_exception_on_one_rank_aborts_every_rank_naming_it(where):
    fault = ("if r == 1 and step == 3: raise ZeroDivisionError('boom on purpose')"
             if where == "main" else
             "if r == 1 and step == 3: threading.Thread(target=lambda: 1 / 0, "
             "name='loader').start(); time.sleep(30)")
    result = run_fault(fault)
    assert re.search(r"rank 1 of 3 \(pid \d+\).* raised ZeroDivisionError", result.text), \
        result.explain()
    if where == "thread":
        assert "thread 'loader'" in result.text, result.explain()
    assert "aborting every rank" in result.text


def test_a_sigkilled_rank_stops_the_others_within_seconds():
    result = run_fault("if r == 2 and step == 3: os.kill(os.getpid(), signal.SIGKILL)")
    # MPICH's launcher SIGKILLs the survivors at once (no handler of theirs runs) and names one
    # process by pid -- not always the one that died; chainrule's start-up line maps pids to
    # ranks so the pid it names can be read as a rank.
    assert "Killed (signal 9)" in result.text, result.explain()
    named = re.search(r"PID (\d+) RUNNING AT", result.text)
    pids = dict(re.findall(r"rank (\d) = pid (\d+)", result.text))
    assert named and sorted(pids) == ["0", "1", "2"], result.explain()
    assert named.group(1) in pids.values(), result.explain()


def test_a_rank_that_stops_calling_collectives_is_named_by_rank_0():
    result = run_fault("if r == 1 and step == 5: time.sleep(120)")
    assert re.search(r"all_reduce \(collective #6\) on rank 0 of 3 did not complete within "
                     r"2\.\d s", result.text), result.explain()
    assert re.search(r"Ranks behind \(not waiting in any collective\): rank 1 \(last posted "
                     r"step 5\)\.", result.text), result.explain()
    assert "Waiting: rank 0 in all_reduce #6 at step 5; rank 2 in all_reduce #6 at step 5. " \
        "Aborting every rank." in result.text, result.explain()


def test_rank_0_stuck_the_others_report_after_their_grace():
    result = run_fault("if r == 0 and step == 2: time.sleep(120)", n=2, timeout_env="1")
    assert re.search(r"on rank 1 of 2 did not complete within 6\.\d s, and rank 0 did not "
                     r"report", result.text), result.explain()
