"""Datasets: the map-style :class:`Dataset` protocol, array-backed datasets that fetch a whole
batch with one fancy index per array, and the combinators Subset, ConcatDataset, random_split.

A dataset is *batchable* when it can answer ``get_batch(indices)`` with a tuple of arrays, one
per field, each built by a single ``array[indices]`` (no per-item Python loop); the DataLoader
uses that path whenever it can and falls back to ``__getitem__`` + collate otherwise.
"""
from __future__ import annotations

import bisect
import math
from typing import Callable, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._generator import resolve_generator
from .checks import cast_checked, check_arrays, check_inputs, check_targets  # noqa: F401
from .errors import DataError
from .transforms import apply_to_item

__all__ = ["Dataset", "TensorDataset", "ArrayDataset", "Subset", "ConcatDataset",
           "random_split"]


class Dataset:
    """A map-style dataset: ``len(ds)`` items, ``ds[i]`` the i-th.

    Subclasses implement ``__getitem__`` and ``__len__``; ``ds1 + ds2`` concatenates.
    Batchable subclasses also set ``batchable = True`` and implement ``get_batch``.
    """

    batchable = False

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def get_batch(self, indices: np.ndarray) -> tuple:
        """The items at ``indices`` as a tuple of batch arrays (batchable datasets only)."""
        raise TypeError(f"{type(self).__name__} cannot fetch whole batches; index it per item")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


def _as_array(x, who: str, what: str = "inputs"):
    if isinstance(x, Tensor):
        return x._data
    if backend.is_array(x):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected arrays or Tensors of numbers, got dtype {np.dtype(arr.dtype).name}")
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        # Python floats get the default dtype; a value too large for it is an error, not inf
        arr = cast_checked(arr, backend.get_default_dtype(), who, what)
    return arr


class TensorDataset(Dataset):
    """Items are tuples ``(t[i] for t in tensors)``; every tensor has the same first dimension.

    Accepts chainrule Tensors or arrays; a batch is one fancy index per array.
    """

    batchable = True

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: need at least one tensor")
        arrays = tuple(_as_array(t, "TensorDataset") for t in tensors)
        sizes = [a.shape[0] if a.ndim else None for a in arrays]
        if None in sizes or len(set(sizes)) != 1:
            raise DataError("TensorDataset", f"tensors of different lengths: shapes "
                                             f"{[tuple(a.shape) for a in arrays]}")
        self.arrays = arrays

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(Tensor(a[index]) for a in self.arrays)

    def get_batch(self, indices) -> tuple:
        return tuple(a[indices] for a in self.arrays)


class ArrayDataset(Dataset):
    """``inputs`` and ``targets`` arrays (the built-in datasets are these), with transforms.

    ``ds[i]`` is ``(transform(inputs[i]), target_transform(targets[i]))`` as arrays; a batch
    applies each transform once to the whole batch. Integer targets are stored as int64.
    With ``check`` the constructor rejects (as :class:`DataError`, naming ``source``) inputs
    and targets of different lengths, NaN or ±inf in float inputs or targets, and labels
    outside ``[0, num_classes)``; Python floats too large for the default dtype are refused
    whether or not ``check`` is set.
    """

    batchable = True

    def __init__(self, inputs, targets=None, *, transform: Callable | None = None,
                 target_transform: Callable | None = None, num_classes: int | None = None,
                 source: str | None = None, check: bool = True):
        self.source = source or "ArrayDataset"
        self.inputs = _as_array(inputs, self.source)
        if targets is not None:
            targets = _as_array(targets, self.source, "targets")
            if targets.dtype.kind in "iu" and targets.dtype != np.int64:
                targets = targets.astype(np.int64)
        self.targets = targets
        self.transform, self.target_transform = transform, target_transform
        self.num_classes = num_classes
        if check:
            check_arrays(self.inputs, self.targets, self.source, num_classes)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, index: int):
        x = apply_to_item(self.transform, self.inputs[index])
        if self.targets is None:
            return (x,)
        return x, apply_to_item(self.target_transform, self.targets[index])

    def get_batch(self, indices) -> tuple:
        x = self.inputs[indices]
        if self.transform is not None:
            x = self.transform(x)
        if self.targets is None:
            return (x,)
        y = self.targets[indices]
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self) -> str:
        tgt = "" if self.targets is None else f", targets {tuple(self.targets.shape)} " \
                                               f"{np.dtype(self.targets.dtype).name}"
        return (f"{type(self).__name__}({self.source}: inputs {tuple(self.inputs.shape)} "
                f"{np.dtype(self.inputs.dtype).name}{tgt})")


def _item_indices(indices, n: int, who: str) -> np.ndarray:
    """Integer item numbers in ``[-n, n)`` as int64 in ``[0, n)``; floats (which NumPy would
    truncate) and booleans (a mask, which it would read as 0/1) are refused."""
    raw = np.asarray(indices)
    if raw.size and raw.dtype.kind not in "iu":
        what = "a boolean mask (use np.flatnonzero(mask))" if raw.dtype.kind == "b" else \
            f"dtype {np.dtype(raw.dtype).name}"
        raise TypeError(f"{who}: indices must be integers, got {what}")
    idx = raw.astype(np.int64).reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{who}: indices must lie in [-{n}, {n}) for a dataset of {n} "
                         f"items, got min {idx.min()}, max {idx.max()}")
    return np.where(idx < 0, idx + n, idx)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = _item_indices(indices, len(dataset), "Subset")

    @property
    def batchable(self) -> bool:
        return getattr(self.dataset, "batchable", False)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices) -> tuple:
        return self.dataset.get_batch(self.indices[indices])


class ConcatDataset(Dataset):
    """The items of several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: need at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    @property
    def batchable(self) -> bool:
        return all(getattr(d, "batchable", False) for d in self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, index: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for {n} items")
        index %= n
        d = bisect.bisect_right(self.cumulative_sizes, index)
        return d, index - (self.cumulative_sizes[d - 1] if d else 0)

    def __getitem__(self, index: int):
        d, i = self._locate(int(index))
        return self.datasets[d][i]

    def get_batch(self, indices) -> tuple:
        indices = _item_indices(indices, len(self), "ConcatDataset")  # negatives count from the end
        which = np.searchsorted(self.cumulative_sizes, indices, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]]).astype(np.int64)
        local = indices - starts[which]
        parts, positions = [], []
        for d in np.unique(which):  # one fancy index per sub-dataset, not per item
            pos = np.flatnonzero(which == d)
            parts.append(self.datasets[d].get_batch(local[pos]))
            positions.append(pos)
        if len(parts) == 1:
            return parts[0]
        order = np.argsort(np.concatenate(positions), kind="stable")
        return tuple(np.concatenate(field)[order] for field in zip(*parts))


def _split_lengths(lengths: Sequence[float], n: int) -> list[int]:
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) \
            and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as PyTorch does
            counts[i % len(counts)] += 1
        return counts
    if any(int(k) != k or k < 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {lengths}")
    counts = [int(k) for k in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {counts} sum to {sum(counts)}, but the "
                         f"dataset has {n} items")
    return counts


def random_split(dataset: Dataset, lengths: Sequence[float], generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths (or fractions).

    ``generator``: an int seed, a ``numpy.random.Generator``, or None (seeded from chainrule's
    default generator, so ``chainrule.manual_seed`` makes the split reproducible).
    """
    counts = _split_lengths(lengths, len(dataset))
    perm = resolve_generator(generator, "random_split").permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
