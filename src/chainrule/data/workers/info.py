"""``get_worker_info()``: inside a DataLoader worker, which worker this is (PyTorch's API)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerInfo", "get_worker_info"]


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
