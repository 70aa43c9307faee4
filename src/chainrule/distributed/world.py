"""The MPI world this process belongs to: rank, size and the communicator (mpi4py, lazily).

Without ``mpiexec`` the world is one process (rank 0 of 1) and mpi4py is imported only when
installed; every collective then reduces over that one process.
"""
from __future__ import annotations

from typing import Any

_state: dict[str, Any] = {"initialized": False, "comm": None, "rank": 0, "size": 1}


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:  # pragma: no cover - exercised where mpi4py is absent
        raise ImportError(
            "chainrule.distributed needs mpi4py and an MPI library: "
            "pip install 'chainrule[distributed]' (installs mpi4py and MPICH's wheels)") from exc
    return MPI


def init() -> None:
    """Join the MPI world (idempotent); a plain ``python`` process is a world of one."""
    if _state["initialized"]:
        return
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD
    _state.update(initialized=True, comm=comm, rank=comm.Get_rank(), size=comm.Get_size())


def is_initialized() -> bool:
    """True once :func:`init` (or ``init_process_group``) has run in this process."""
    return _state["initialized"]


def get_rank() -> int:
    """This process's rank in the world (0 before :func:`init`)."""
    return _state["rank"]


def get_world_size() -> int:
    """How many processes the world has (1 before :func:`init`)."""
    return _state["size"]


def comm():
    """The MPI communicator of the world; :func:`init` must have run."""
    if not _state["initialized"]:
        raise RuntimeError("chainrule.distributed: call chainrule.distributed.init() first")
    return _state["comm"]
