"""When a rank fails, every rank stops, and the message says which rank and why.

- An uncaught exception (main thread or any other) prints the traceback and a line naming the
  rank, then ``MPI.Abort``s the job: without it the other ranks would wait forever in their next
  collective.
- A rank killed outright (SIGKILL, the OOM killer): MPICH's launcher SIGKILLs the others at
  once (within a second; no handler of theirs runs, so no rank can report) and names one
  process by pid and host — not always the one that died. So that its pid reads as a rank,
  :func:`install` prints the rank → pid map once, from rank 0, at start-up (silence it with
  ``$CHAINRULE_DIST_QUIET=1``).
- A rank that exits (``sys.exit``, the end of its program) while the others still wait for it
  in a collective: at exit it tells every rank how many collectives it issued; a rank waiting
  in a later one names it and aborts the job at once (when every rank ends normally, nobody
  waits on it and the program exits as usual).
- A rank that stops calling collectives (a hang, a rank-dependent branch): every collective
  waits against a deadline (:func:`chainrule.distributed.set_timeout`); when it passes, rank 0
  asks every rank, on a private communicator, whether it is waiting in a collective. Those that
  do not answer are behind; rank 0 names them with the last step each posted through
  :func:`post_step`, then aborts the job.
"""
from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
import time
import traceback

import numpy as np

from . import world

TAG_STEP, TAG_PING, TAG_PONG, TAG_EXIT = 7101, 7102, 7103, 7104
PING_WAIT_S = 2.0      # how long rank 0 waits for the answers after its deadline
GRACE_S = PING_WAIT_S + 3.0  # the other ranks wait this much longer, so rank 0 reports first
QUIET_ENV = "CHAINRULE_DIST_QUIET"
OP_NAMES = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce",
            "gather", "scatter", "barrier", "DistributedDataParallel gradient allreduce",
            "DistributedDataParallel unused-parameter allreduce",
            "DistributedDataParallel broadcast", "DistributedDataParallel parameter check",
            "SyncBatchNorm allreduce")
EXIT_SEND_WAIT_S = 1.0  # how long an exiting rank tries to get its "I exited" out

_hooks: dict = {"sys": None, "threading": None, "atexit": False}
_exited: dict = {}     # rank -> how many collectives it had issued when it exited
_steps: dict = {"mine": -1, "last": {}, "sends": []}  # rank 0 keeps "last": rank -> step


def _say(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


ABORT_DELAY_S = 0.3  # lets the launcher forward what was just written before MPI.Abort


def _abort() -> None:
    from mpi4py import MPI
    _hooks["aborting"] = True   # no "I exited" announcement on the way out
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(ABORT_DELAY_S)
    MPI.COMM_WORLD.Abort(1)


def _rank_line() -> str:
    return f"rank {world.get_rank()} of {world.get_world_size()}"


# -- uncaught exceptions -------------------------------------------------------------------
def _report_and_abort(where: str, exc_type, exc, tb) -> None:
    """One write: the line naming the rank first (it must survive the abort), then the
    traceback; then abort every rank."""
    lines = traceback.format_exception(exc_type, exc, tb)
    _say(f"chainrule.distributed: {_rank_line()} (pid {os.getpid()}){where} raised "
         f"{exc_type.__name__}: {exc}; aborting every rank\n" + "".join(lines).rstrip())
    _abort()


def _on_exception(exc_type, exc, tb) -> None:
    _report_and_abort("", exc_type, exc, tb)


def _on_thread_exception(args) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    _report_and_abort(f", thread {name!r},", args.exc_type, args.exc_value, args.exc_traceback)


def _announce_pids() -> None:
    """Rank 0 prints which pid each rank is, so the launcher's "PID n" names a rank."""
    comm = world.comm()
    pids = np.zeros(world.get_world_size(), dtype=np.int64)
    comm.Gather(np.array([os.getpid()], dtype=np.int64), pids, root=0)
    if world.get_rank() == 0 and os.environ.get(QUIET_ENV, "") in ("", "0"):
        ranks = ", ".join(f"rank {r} = pid {p}" for r, p in enumerate(pids.tolist()))
        _say(f"chainrule.distributed: {len(pids)} ranks started from {socket.gethostname()}: "
             f"{ranks}")


def install() -> None:
    """Called by :func:`chainrule.distributed.init`: in a world of more than one, abort every
    rank on an uncaught exception, and print the rank → pid map."""
    _steps.update(mine=-1, last={}, sends=[])
    _exited.clear()
    if world.get_world_size() == 1 or _hooks["sys"] is not None:
        return
    _hooks["sys"], _hooks["threading"] = sys.excepthook, threading.excepthook
    if not _hooks["atexit"]:    # runs before mpi4py's MPI_Finalize (atexit is last-in first-out)
        atexit.register(_announce_exit)
        _hooks["atexit"] = True
    sys.excepthook, threading.excepthook = _on_exception, _on_thread_exception
    _announce_pids()


def uninstall() -> None:
    """Undo :func:`install` (``destroy_process_group``)."""
    if _hooks["sys"] is not None:
        sys.excepthook, threading.excepthook = _hooks["sys"], _hooks["threading"]
        _hooks["sys"] = _hooks["threading"] = None
    if world.is_initialized() and world.get_rank() == 0:
        _drain_steps()


# -- step posts ----------------------------------------------------------------------------
def post_step(step: int) -> None:
    """Tell rank 0 this rank has reached training step ``step`` (call once per step; DDP and
    the Trainer do). Non-blocking: a small send that rank 0 collects when it next posts."""
    if int(step) == _steps["mine"]:
        return              # already posted (DDP's synced backward and the Trainer's step)
    _steps["mine"] = int(step)
    if not world.is_initialized() or world.get_world_size() == 1:
        return
    if world.get_rank() == 0:
        _drain_steps()
        return
    sends = [s for s in _steps["sends"] if not s[0].Test()]
    buf = np.array([step], dtype=np.int64)
    sends.append((world.control().Isend(buf, dest=0, tag=TAG_STEP), buf))
    _steps["sends"] = sends


def post_next_step() -> None:
    """Post one step more than this rank last posted (DDP, once per synced backward): with a
    Trainer posting the same step number too, the rank still keeps one counter."""
    post_step(_steps["mine"] + 1)


def last_steps() -> dict:
    """On rank 0: the last step each rank posted (rank -> step), as far as received."""
    if world.is_initialized() and world.get_rank() == 0:
        _drain_steps()
    return {**_steps["last"], 0: _steps["mine"]}


def _drain_steps() -> None:
    from mpi4py import MPI
    ctl, status, buf = world.control(), MPI.Status(), np.zeros(1, dtype=np.int64)
    while ctl.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_STEP, status=status):
        ctl.Recv(buf, source=status.Get_source(), tag=TAG_STEP)
        _steps["last"][status.Get_source()] = int(buf[0])


# -- the deadline --------------------------------------------------------------------------
def answer_pings(op: str, seq: int) -> None:
    """On ranks other than 0, while waiting: answer rank 0's "are you waiting?" ping."""
    ctl = world.control()
    while ctl.Iprobe(source=0, tag=TAG_PING):
        ctl.Recv(np.zeros(1, dtype=np.int64), source=0, tag=TAG_PING)
        buf = np.array([_steps["mine"], seq, OP_NAMES.index(op)], dtype=np.int64)
        ctl.Send(buf, dest=0, tag=TAG_PONG)


def _announce_exit() -> None:
    """At interpreter exit: tell every other rank how many collectives this one issued."""
    if not world.is_initialized() or world.get_world_size() == 1 or _hooks["sys"] is None \
            or _hooks.get("aborting"):
        return
    try:
        ctl, here = world.control(), world.get_rank()
        buf = np.array([world._state["seq"]], dtype=np.int64)
        sends = [ctl.Isend(buf, dest=r, tag=TAG_EXIT)
                 for r in range(world.get_world_size()) if r != here]
        end = time.monotonic() + EXIT_SEND_WAIT_S
        while sends and time.monotonic() < end:
            sends = [s for s in sends if not s.Test()]
            time.sleep(0.001)
    except Exception:  # pragma: no cover - MPI already finalizing
        pass


def check_exits(op: str, seq: int) -> None:
    """While waiting in this rank's ``seq``-th collective: a rank that exited after issuing
    fewer collectives will never join it — name it and abort every rank."""
    from mpi4py import MPI
    ctl, status, buf = world.control(), MPI.Status(), np.zeros(1, dtype=np.int64)
    while ctl.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_EXIT, status=status):
        ctl.Recv(buf, source=status.Get_source(), tag=TAG_EXIT)
        _exited[status.Get_source()] = int(buf[0])
    gone = sorted(r for r, issued in _exited.items() if issued < seq)
    if not gone:
        return
    who = "; ".join(f"rank {r} (after {_exited[r]} collectives)" for r in gone)
    _say(f"chainrule.distributed: {who} exited (sys.exit or the end of its program) while "
         f"{_rank_line()} waits for it in {op} (collective #{seq}), which it never joined; "
         "aborting every rank")
    _abort()


def deadline_for_this_rank(timeout: float) -> float:
    """Rank 0 waits ``timeout``; the others a grace longer, so rank 0 is the one that reports."""
    return timeout if world.get_rank() == 0 else timeout + GRACE_S


def on_timeout(op: str, seq: int, waited: float) -> None:
    """The deadline passed in collective ``op`` (this rank's ``seq``-th): name the ranks
    behind (rank 0) or say rank 0 did not report (others), then abort every rank."""
    head = (f"chainrule.distributed: {op} (collective #{seq}) on {_rank_line()} did not "
            f"complete within {waited:.1f} s")
    if world.get_rank() != 0:
        _say(f"{head}, and rank 0 did not report which ranks are behind (rank 0 itself may be "
             f"behind: this rank posted step {_steps['mine']}); aborting every rank")
        _abort()
        return
    waiting, behind = _survey(op, seq)
    steps = last_steps()

    def step_of(r):
        return f"last posted step {steps[r]}" if steps.get(r, -1) >= 0 else "posted no step"

    lines = [head + "."]
    if behind:
        lines.append("Ranks behind (not waiting in any collective): " + "; ".join(
            f"rank {r} ({step_of(r)})" for r in behind) + ".")
    else:
        lines.append("Every rank is waiting in a collective: they called different ones.")
    lines.append("Waiting: " + "; ".join(
        f"rank {r} in {name} #{s} at step {st}" for r, (st, s, name) in sorted(waiting.items()))
        + ".")
    _say(" ".join(lines) + " Aborting every rank.")
    _abort()


def _survey(op: str, seq: int) -> tuple[dict, list]:
    """Rank 0 pings every rank; returns (rank -> (step, seq, op) for those waiting, behind)."""
    ctl, size = world.control(), world.get_world_size()
    pings = [np.array([seq], dtype=np.int64) for _ in range(size)]
    pongs = {r: np.zeros(3, dtype=np.int64) for r in range(1, size)}
    sends = [ctl.Isend(pings[r], dest=r, tag=TAG_PING) for r in range(1, size)]
    recvs = {r: ctl.Irecv(pongs[r], source=r, tag=TAG_PONG) for r in range(1, size)}
    waiting = {0: (_steps["mine"], seq, op)}
    end = time.monotonic() + PING_WAIT_S
    while recvs and time.monotonic() < end:
        for r in [r for r, req in recvs.items() if req.Test()]:
            del recvs[r]
            st, s, code = pongs[r].tolist()
            waiting[r] = (st, s, OP_NAMES[code])
        time.sleep(0.005)
    del sends
    return waiting, sorted(recvs)
