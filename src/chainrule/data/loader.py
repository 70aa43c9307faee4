"""DataLoader: batches of chainrule Tensors from a dataset, shuffled by the loader's own seeded
generator, with a JSON-serialisable ``state_dict`` for bitwise-exact resume mid-epoch.

For a batchable dataset (array-backed: TensorDataset, ArrayDataset, the built-in and
memory-mapped datasets, and Subsets/concatenations of them) each batch is one fancy index per
array; any other dataset is indexed item by item and the items collated.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Callable, Iterator

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._generator import generator_state, resolve_generator, set_generator_state
from .checks import cast_checked
from .dataset import Dataset

__all__ = ["DataLoader", "default_collate"]


def _tensor(a) -> Tensor:
    if isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
        a = a.view(np.ndarray)  # e.g. a np.memmap slice: hand out a plain array
    return Tensor(a)


def to_tensors(batch):
    """Arrays (also inside tuples, lists, dicts) → Tensors, keeping dtypes."""
    if isinstance(batch, Tensor) or backend.is_array(batch):
        return _tensor(batch)
    if isinstance(batch, Mapping):
        return {k: to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_tensors(v) for v in batch)
    return batch


def _collate_numbers(samples: list) -> Tensor:
    """Python numbers → one Tensor whose dtype fits them all (as ``torch.tensor`` infers it):
    bool if all are bools, the default float dtype if any is a float, else int64 — so a
    float among ints is never truncated and an int among bools never becomes True."""
    if not all(isinstance(s, (bool, int, float)) for s in samples):
        other = next(s for s in samples if not isinstance(s, (bool, int, float)))
        raise TypeError(f"default_collate: a batch of numbers also holds a "
                        f"{type(other).__name__} ({other!r})")
    if all(isinstance(s, bool) for s in samples):
        return Tensor(np.asarray(samples, dtype=np.bool_))
    if any(isinstance(s, float) for s in samples):  # 1e300 is refused, not made inf
        wide = np.asarray(samples, dtype=np.float64)
        return Tensor(cast_checked(wide, backend.get_default_dtype(), "default_collate", "batch"))
    return Tensor(np.asarray(samples, dtype=np.int64))


def default_collate(samples: list) -> Any:
    """Stack a list of items into a batch: arrays/Tensors are stacked on a new axis 0, Python
    ints become int64 and floats the default dtype (a mix with any float: floats), and tuples,
    lists and dicts are collated field by field. Returns chainrule Tensors."""
    if not samples:
        raise ValueError("default_collate: empty batch")
    elem = samples[0]
    if isinstance(elem, Tensor) or backend.is_array(elem) or isinstance(elem, np.generic):
        arrays = [s._data if isinstance(s, Tensor) else s for s in samples]
        xp = backend.get_array_module(*arrays)
        try:
            return _tensor(xp.stack(arrays))
        except ValueError:
            shapes = sorted({tuple(getattr(a, "shape", ())) for a in arrays})
            raise ValueError(f"default_collate: cannot stack items of different shapes "
                             f"{shapes[:4]}") from None
    if isinstance(elem, (bool, int, float)):
        return _collate_numbers(samples)
    if isinstance(elem, str):
        return list(samples)
    if isinstance(elem, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(s) != len(elem) for s in samples):
            raise ValueError(f"default_collate: items have different numbers of fields "
                             f"{sorted({len(s) for s in samples})}")
        fields = [default_collate(list(f)) for f in zip(*samples)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: cannot collate items of type {type(elem).__name__}; "
                    f"pass a collate_fn")


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new permutation each epoch from the loader's own NumPy generator:
    ``generator`` is an int seed, a ``numpy.random.Generator``, or None (then seeded once, at
    construction, by a draw from chainrule's default generator, so ``chainrule.manual_seed``
    makes the order reproducible). ``drop_last`` drops a final short batch. ``collate_fn``
    turns a list of items into a batch (and forces the item-by-item path).

    ``state_dict()`` records the completed epochs, the batches handed out in the current one
    and the generator state its permutation was drawn from; after ``load_state_dict`` the next
    ``iter(loader)`` redraws that permutation and continues from the next batch, so a resumed
    run sees exactly the batches an uninterrupted one would. An epoch is complete as soon as
    its last batch has been handed out.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable | None = None, generator=None):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._batched = collate_fn is None and bool(getattr(dataset, "batchable", False))
        self.generator = (resolve_generator(generator, "DataLoader")
                          if shuffle or generator is not None else None)
        self._epoch = 0            # epochs whose batches have all been handed out
        self._active = False       # an epoch is under way
        self._position = 0         # batches handed out in the current epoch
        self._epoch_state = None   # generator state before this epoch's permutation was drawn
        self._resume = False       # the next __iter__ continues a loaded mid-epoch state
        self._token = None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def epoch(self) -> int:
        """How many epochs have been handed out in full."""
        return self._epoch

    def __iter__(self) -> Iterator:
        start = self._position if self._resume else 0
        self._resume = False
        n = len(self.dataset)
        order = None
        self._epoch_state = None
        if self.shuffle:
            self._epoch_state = generator_state(self.generator)
            order = self.generator.permutation(n)
        self._active, self._position = True, start
        self._token = token = object()
        if start >= len(self):
            self._finish_epoch()
        return self._batches(order, start, token)

    def _finish_epoch(self) -> None:
        self._active, self._position, self._epoch_state = False, 0, None
        self._epoch += 1

    def _batches(self, order, start: int, token) -> Iterator:
        n, bs, nb = len(self.dataset), self.batch_size, len(self)
        for b in range(start, nb):
            lo, hi = b * bs, min((b + 1) * bs, n)
            idx = order[lo:hi] if order is not None else np.arange(lo, hi)
            batch = self._fetch(idx)
            if self._token is token:  # only the newest iterator moves the loader's state
                self._position = b + 1
                if b + 1 == nb:
                    self._finish_epoch()
            yield batch

    def _fetch(self, idx: np.ndarray):
        if self._batched:
            return to_tensors(self.dataset.get_batch(idx))
        return self.collate_fn([self.dataset[int(i)] for i in idx])

    # ---- exact resume -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-serialisable: the generator state at the start of the current epoch (or now,
        between epochs), the completed epochs and the batches handed out in this epoch."""
        if self._active:
            gen = copy.deepcopy(self._epoch_state)
        else:
            gen = generator_state(self.generator) if self.generator is not None else None
        return {"epoch": self._epoch, "position": self._position if self._active else 0,
                "in_epoch": self._active, "generator": gen, "batch_size": self.batch_size,
                "shuffle": self.shuffle, "drop_last": self.drop_last,
                "num_samples": len(self.dataset)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the next ``iter(loader)`` continues where it left off
        (same permutation, from the next batch)."""
        mine = self.state_dict()
        for key in ("batch_size", "shuffle", "drop_last", "num_samples"):
            if key in state and state[key] != mine[key]:
                raise ValueError(f"DataLoader.load_state_dict: state has {key}={state[key]!r} "
                                 f"but this loader has {key}={mine[key]!r}")
        if state.get("generator") is not None:
            if self.generator is None:
                self.generator = np.random.Generator(np.random.PCG64())
            set_generator_state(self.generator, state["generator"])
        self._epoch = int(state["epoch"])
        self._active = self._resume = bool(state.get("in_epoch", False))
        self._position = int(state["position"]) if self._active else 0
        self._epoch_state = state.get("generator") if self._active else None
        self._token = None  # iterators from before the load no longer move the state

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
