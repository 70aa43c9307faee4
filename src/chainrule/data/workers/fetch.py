"""Fetching one batch — the same code in the main process (``num_workers=0``) and in workers,
so both produce the same batches."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..collate import to_tensors
from ..sample_rng import _local, enter_lazy_stream, restore_stream

__all__ = ["fetch_batch"]


def fetch_batch(dataset, indices, batched: bool, collate_fn: Callable | None,
                base_seed: int, epoch: int, where: list | None = None):
    """The batch of ``indices``.

    ``batched``: one ``dataset.get_batch(indices)`` (array-backed datasets; no per-sample
    stream, the batch transforms there are deterministic). Otherwise each ``dataset[i]`` runs
    with sample i's stream of ``(base_seed, epoch)`` current (see :mod:`..sample_rng`) and the
    items are collated; ``collate_fn=None`` with a single index (``batch_size=None``) converts
    the item to Tensors without collating. ``where[0]`` is kept at the index being loaded, for
    error reports."""
    if batched:
        if where is not None:
            where[0] = indices
        return to_tensors(dataset.get_batch(np.asarray(indices)))
    if not isinstance(indices, (list, tuple, np.ndarray)):  # auto-batching off
        item = _load(dataset, indices, base_seed, epoch, where)
        return to_tensors(item) if collate_fn is None else collate_fn(item)
    return collate_fn(_load_items(dataset, indices, base_seed, epoch, where))


def _load_items(dataset, indices, base_seed: int, epoch: int, where: list | None) -> list:
    """``[dataset[i] for i in indices]``, each with its stream pending (the hot loop: the
    stream object is only built if the item draws from it)."""
    if isinstance(indices, np.ndarray):
        indices = indices.tolist()
    elif indices and type(indices[0]) is not int:
        indices = [int(i) if isinstance(i, np.integer) else i for i in indices]
    items: list = []
    local = _local
    previous = enter_lazy_stream(base_seed, epoch, 0)
    try:
        for i in indices:
            local.pending = (base_seed, epoch, i)  # replaces any stream an earlier item built
            items.append(dataset[i])
    except BaseException:
        if where is not None:
            where[0] = indices[len(items)]
        raise
    finally:
        restore_stream(previous)
    return items


def _load(dataset, index, base_seed: int, epoch: int, where: list | None):
    if isinstance(index, np.integer):
        index = int(index)
    if where is not None:
        where[0] = index
    previous = enter_lazy_stream(base_seed, epoch, index)
    try:
        return dataset[index]
    finally:
        restore_stream(previous)
