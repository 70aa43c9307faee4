"""The MPI world this process belongs to: rank, size, the communicators and the deadline
(mpi4py, lazily), with ``torch.distributed``'s process-group calls on top.

Without ``mpiexec`` the world is one process (rank 0 of 1) and mpi4py is imported only when
installed; every collective then reduces over that one process. All process-local state of
:mod:`chainrule.distributed` lives in ``_state`` here.
"""
from __future__ import annotations

import datetime
import importlib.util
import os
from typing import Any

DEFAULT_TIMEOUT_S = 300.0
TIMEOUT_ENV = "CHAINRULE_DIST_TIMEOUT"  # seconds; overrides the default (tests set it low)

_state: dict[str, Any] = {"initialized": False, "comm": None, "control": None, "rank": 0,
                          "size": 1, "group": False, "timeout": None, "seq": 0}


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - exercised where mpi4py is absent
        raise ImportError(
            "chainrule.distributed needs mpi4py and an MPI library: "
            "pip install 'chainrule[distributed]' (installs mpi4py and MPICH's wheels)") from exc
    return MPI


def _default_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"chainrule.distributed: ${TIMEOUT_ENV} should be a number of seconds, "
                         f"got {raw!r}") from None
    return _check_timeout(value)


def _check_timeout(seconds) -> float:
    if isinstance(seconds, datetime.timedelta):
        seconds = seconds.total_seconds()
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError("chainrule.distributed: the timeout should be a positive number of "
                         f"seconds or a datetime.timedelta, got {seconds!r}")
    return float(seconds)


def init() -> None:
    """Join the MPI world (idempotent); a plain ``python`` process is a world of one.

    Also duplicates the world communicator for chainrule's own control messages (step posts,
    deadline pings) and, in a world of more than one, installs the fault hooks
    (:mod:`chainrule.distributed.faults`): an uncaught exception on any rank aborts them all."""
    if _state["initialized"]:
        return
    from ..data.workers.info import refuse_in_worker
    refuse_in_worker("chainrule.distributed.init()")   # a worker never joins the job
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD
    _state.update(initialized=True, comm=comm, control=comm.Dup(), rank=comm.Get_rank(),
                  size=comm.Get_size(), seq=0)
    if _state["timeout"] is None:
        _state["timeout"] = _default_timeout()
    from . import faults
    faults.install()


def is_initialized() -> bool:
    """True once :func:`init` (or ``init_process_group``) has run in this process."""
    return _state["initialized"]


def is_available() -> bool:
    """True when mpi4py is installed, so :func:`init` can join an MPI world."""
    return importlib.util.find_spec("mpi4py") is not None


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: datetime.timedelta | float | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """``torch.distributed.init_process_group`` over MPI: the world is the one ``mpiexec``
    started, so ``world_size`` and ``rank``, when given, are checked against it; ``timeout``
    is the deadline every collective waits before the job is aborted."""
    name = "mpi" if backend is None else str(backend).lower()
    if name != "mpi":
        raise ValueError(
            f"init_process_group: chainrule.distributed runs over MPI only, got backend="
            f"{backend!r}; use backend='mpi' and start the program with "
            "`mpiexec -n N python script.py`")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_process_group: init_method={init_method!r} is not supported; "
                         "mpiexec sets the world up (leave init_method=None)")
    if store is not None:
        raise ValueError("init_process_group: a store is not supported; mpiexec sets the world "
                         "up (leave store=None)")
    if _state["group"]:
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialized (call destroy_process_group() first)")
    if timeout is not None:
        set_timeout(timeout)
    init()
    for what, given, actual in (("world_size", world_size, _state["size"]),
                                ("rank", rank, _state["rank"])):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {what}={given} but mpiexec started this "
                             f"process as {what}={actual}")
    _state["group"] = True


def destroy_process_group(group=None) -> None:
    """Leave the process group: collectives need :func:`init` again. MPI itself stays up until
    the interpreter exits (MPI cannot be initialized twice in one process)."""
    if group is not None:
        raise ValueError("destroy_process_group: only the default group (group=None) exists")
    if not _state["initialized"]:
        return
    from . import faults
    faults.uninstall()
    control = _state["control"]
    if control is not None:
        try:
            control.Free()
        except Exception:  # pragma: no cover - MPI already finalizing
            pass
    _state.update(initialized=False, comm=None, control=None, rank=0, size=1, group=False,
                  seq=0)


def get_backend(group=None) -> str:
    """The backend's name: always ``'mpi'``; :func:`init` must have run."""
    comm()
    return "mpi"


def get_rank(group=None) -> int:
    """This process's rank in the world (0 before :func:`init`)."""
    return _state["rank"]


def get_world_size(group=None) -> int:
    """How many processes the world has (1 before :func:`init`)."""
    return _state["size"]


def set_timeout(seconds: float | datetime.timedelta) -> None:
    """How long a collective may wait for the other ranks before the job is aborted."""
    _state["timeout"] = _check_timeout(seconds)


def get_timeout() -> float:
    """The collective deadline in seconds (default 300, or ``$CHAINRULE_DIST_TIMEOUT``)."""
    if _state["timeout"] is None:
        _state["timeout"] = _default_timeout()
    return _state["timeout"]


def comm():
    """The MPI communicator of the world; :func:`init` must have run."""
    if not _state["initialized"]:
        raise RuntimeError("chainrule.distributed: call chainrule.distributed.init() (or "
                           "init_process_group()) first")
    return _state["comm"]


def control():
    """The communicator chainrule's own control messages travel on (a duplicate of the
    world's, so they never match a user's point-to-point messages)."""
    comm()
    return _state["control"]


def next_seq() -> int:
    """Count one more collective issued by this rank; returns its number (1, 2, ...)."""
    _state["seq"] += 1
    return _state["seq"]
