"""The shared launcher itself: ranks run, report in rank order, and a hung run is killed."""
from __future__ import annotations

from .mpirun import run_mpi


def test_ranks_report_in_order():
    result = run_mpi("""
        from mpi4py import MPI
        from mpirun import emit
        emit({"rank": MPI.COMM_WORLD.Get_rank(), "size": MPI.COMM_WORLD.Get_size()})
    """, n=3, timeout=30)
    assert result.returncode == 0, result.explain()
    assert result.outputs == [{"rank": r, "size": 3} for r in range(3)]


def test_a_hung_run_is_killed_at_the_timeout():
    result = run_mpi("import time; time.sleep(60)", n=2, timeout=2)
    assert result.timed_out and result.returncode is None
    assert result.elapsed < 15
