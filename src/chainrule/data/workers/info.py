"""``get_worker_info()``: inside a DataLoader worker, which worker this is (PyTorch's API)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerInfo", "get_worker_info", "in_worker_process", "WORKER_NAME_PREFIX",
           "refuse_in_worker"]

WORKER_NAME_PREFIX = "chainrule-loader-"   # multiprocessing's name of every worker process


@dataclass(frozen=True)
class WorkerInfo:
    """``id`` in [0, num_workers); ``seed``: chainrule's default generator in this worker was
    seeded with it (base seed + id); ``dataset``: this worker's copy of the dataset."""
    id: int
    num_workers: int
    seed: int
    dataset: Any


_current: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's :class:`WorkerInfo` in a DataLoader worker process; None in the main
    process."""
    return _current


def _set_worker_info(info: WorkerInfo) -> None:
    global _current
    _current = info


def in_worker_process() -> bool:
    """True in a DataLoader worker process, also while it is still starting (importing the
    parent's main module, before :func:`get_worker_info` is set)."""
    import multiprocessing
    return _current is not None or \
        multiprocessing.current_process().name.startswith(WORKER_NAME_PREFIX)


def refuse_in_worker(what: str) -> None:
    """Raise a clear error when ``what`` is attempted inside a worker process, where it can only
    come from the main script's top level running again as the worker starts."""
    if in_worker_process():
        import multiprocessing
        raise RuntimeError(
            f"{what} was called in DataLoader worker process "
            f"{multiprocessing.current_process().name!r}: each worker imports the main script "
            f"again, so code that trains, builds loaders with workers or joins the MPI world "
            f"must sit under `if __name__ == \"__main__\":`")
