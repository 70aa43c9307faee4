"""``Work``: one collective in flight — an MPI request polled against the deadline.

MPI's blocking collectives cannot time out, so every chainrule collective is posted
non-blocking (``Iallreduce``, ``Ibcast``, ...) and waited for here by polling ``Test``: a short
spin, then short sleeps. Past the deadline the job is aborted with a message naming the ranks
that are behind (:func:`chainrule.distributed.faults.on_timeout`).
"""
from __future__ import annotations

import datetime
import time
from typing import Callable

from . import faults, world

SPIN_S = 0.02       # poll without sleeping this long (a step's gradient buckets finish well within it)
SHORT_S = 0.05      # then sleep briefly between polls up to here, then a little longer
SHORT_SLEEP_S, LONG_SLEEP_S = 0.0002, 0.002


class Work:
    """Handle of a collective started with ``async_op=True`` (as ``torch.distributed.Work``):
    :meth:`wait` blocks until it is done (or aborts the job past the deadline),
    :meth:`is_completed` asks without blocking."""

    __slots__ = ("_request", "_op", "_seq", "_finish", "_done")

    def __init__(self, request, op: str, seq: int, finish: Callable[[], None] | None = None):
        self._request, self._op, self._seq, self._finish = request, op, seq, finish
        self._done = False

    def _complete(self) -> None:
        self._done = True
        self._request = None
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self) -> bool:
        """True once the collective has finished here (its results are then in place)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        """True once completed: a failed collective aborts the job instead of returning."""
        return self.is_completed()

    def wait(self, timeout: datetime.timedelta | float | None = None) -> bool:
        """Block until the collective is done; past the deadline (``timeout``, else the
        world's) abort every rank, naming those behind."""
        if self._done:
            return True
        limit = world.get_timeout() if timeout is None else world._check_timeout(timeout)
        limit = faults.deadline_for_this_rank(limit)
        request, answers = self._request, world.get_rank() != 0
        start = time.monotonic()
        while not request.Test():
            waited = time.monotonic() - start
            if waited < SPIN_S:
                continue
            if waited > limit:
                faults.on_timeout(self._op, self._seq, waited)
            if waited < SHORT_S:
                time.sleep(SHORT_SLEEP_S)
                continue
            if answers:
                faults.answer_pings(self._op, self._seq)
            faults.check_exits(self._op, self._seq)
            time.sleep(LONG_SLEEP_S)
        self._complete()
        return True

    def __repr__(self) -> str:
        state = "completed" if self._done else "in flight"
        return f"Work({self._op} #{self._seq}, {state})"


def wait_request(request, op: str) -> None:
    """Wait for an MPI request chainrule posted itself (DDP, SyncBatchNorm) against the
    deadline, as the collective ``op`` (a name in ``faults.OP_NAMES``)."""
    Work(request, op, world.next_seq()).wait()
