"""Iterable-style datasets (PyTorch's ``IterableDataset``, ``ChainDataset``) and how a
DataLoader reads them.

An iterable dataset is a stream: the loader iterates it, groups ``batch_size`` consecutive items
(the last, shorter batch dropped with ``drop_last``) and collates them; there is no sampler and
no shuffling. With ``num_workers > 0`` every worker process iterates its own copy of the
dataset — which should shard itself with :func:`get_worker_info` (``id``, ``num_workers``), or
each item comes ``num_workers`` times, as in PyTorch — and the batches are handed out round-robin
over the workers (worker 0's first batch, worker 1's first, …), a worker that runs dry being
skipped. Batches travel from the workers as NumPy arrays through ``multiprocessing`` queues.
"""
from __future__ import annotations

import itertools
import traceback
from collections.abc import Mapping
from typing import Any, Iterable, Iterator

from ..tensor import Tensor
from .collate import to_tensors
from .dataset import Dataset
from .workers import info as _info

__all__ = ["IterableDataset", "ChainDataset"]


class IterableDataset(Dataset):
    """A dataset given as an iterator: subclasses implement ``__iter__``; ``a + b`` chains."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __len__(self) -> int:
        # a TypeError (as for any object without a length), so list(loader) just iterates
        raise TypeError(f"{type(self).__name__} is an IterableDataset without __len__: its "
                        "length is unknown")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead "
                        "of indexing it")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The items of each iterable dataset in turn (a lazy concatenation of streams)."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            total += len(d)
        return total


def check_loader_options(shuffle, sampler, batch_sampler) -> None:
    """PyTorch's refusals for an iterable dataset (it has no indices to sample)."""
    for name, value in (("shuffle", shuffle), ("sampler", sampler),
                        ("batch_sampler", batch_sampler)):
        if value not in (None, False):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} "
                             f"option, but got {name}={value!r}")


def _batches(items: Iterator, batch_size: int | None, drop_last: bool, collate) -> Iterator:
    if batch_size is None:
        yield from (collate(x) for x in items)
        return
    while True:
        chunk = list(itertools.islice(items, batch_size))
        if not chunk or (drop_last and len(chunk) < batch_size):
            return
        yield collate(chunk)


def _to_arrays(batch: Any) -> Any:
    """Tensors → arrays (inside tuples, lists, dicts) for the trip between processes."""
    if isinstance(batch, Tensor):
        return batch.detach().numpy()
    if isinstance(batch, Mapping):
        return {k: _to_arrays(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_arrays(v) for v in batch)
    return batch


def _worker(wid: int, loader_args: tuple, queue) -> None:
    dataset, n, seed, batch_size, drop_last, collate, init_fn = loader_args
    try:
        from .. import backend
        backend.manual_seed(seed + wid)
        _info._set_worker_info(_info.WorkerInfo(wid, n, seed + wid, dataset))
        if init_fn is not None:
            init_fn(wid)
        for batch in _batches(iter(dataset), batch_size, drop_last, collate):
            queue.put(("batch", _to_arrays(batch)))
        queue.put(("done", None))
    except BaseException:   # noqa: BLE001 - reported to the main process with its traceback
        queue.put(("error", traceback.format_exc()))


def iterate(loader) -> Iterator:
    """The batches of ``loader`` over its iterable dataset (see the module docstring)."""
    collate = loader.collate_fn or to_tensors   # batch_size=None: items converted only
    if loader.num_workers == 0:
        for batch in _batches(iter(loader.dataset), loader.batch_size, loader.drop_last,
                              collate):
            yield batch
        return
    import multiprocessing as mp
    ctx = mp.get_context(loader.multiprocessing_context)
    n, seed = loader.num_workers, loader.base_seed
    args = (loader.dataset, n, seed, loader.batch_size, loader.drop_last, collate,
            loader.worker_init_fn)
    queues = [ctx.Queue(maxsize=max(1, loader.prefetch_factor or 2)) for _ in range(n)]
    procs = [ctx.Process(target=_worker, args=(w, args, q), daemon=True)
             for w, q in enumerate(queues)]
    for p in procs:
        p.start()
    timeout = loader.timeout or None
    live = list(range(n))
    try:
        while live:
            for w in list(live):
                try:
                    kind, payload = queues[w].get(timeout=timeout)
                except Exception:   # queue.Empty after ``timeout``
                    raise RuntimeError(f"DataLoader: worker {w} gave no batch within "
                                       f"timeout={loader.timeout} s") from None
                if kind == "done":
                    live.remove(w)
                elif kind == "error":
                    raise RuntimeError(f"DataLoader: worker {w} failed while iterating "
                                       f"{type(loader.dataset).__name__}:\n{payload}")
                else:
                    yield to_tensors(payload)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
