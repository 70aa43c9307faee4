"""Samplers: which dataset indices a DataLoader visits, in which order, and how they are
grouped into batches — PyTorch's ``torch.utils.data`` samplers, drawing from NumPy generators.

``generator`` wherever it appears is an int seed, a ``numpy.random.Generator`` or None; None
means "a fresh seed from chainrule's default generator each epoch" (as PyTorch draws one from
its default generator), so ``chainrule.manual_seed`` makes the order reproducible.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

from ._generator import resolve_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _count(value, who: str, what: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{who}: {what} should be a positive integer value, but got "
                         f"{what}={value!r}")
    return int(value)


def _epoch_generator(generator) -> np.random.Generator:
    """The generator one epoch draws from: the given one, or a fresh one seeded from
    chainrule's default generator."""
    if generator is None:
        return resolve_generator(None, "sampler")
    return generator


class Sampler:
    """Base class: iterating gives dataset indices (or, for a batch sampler, lists of them)."""

    def __init__(self, data_source: Sized | None = None):
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) − 1."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def _epoch_indices(self) -> np.ndarray:
        """The epoch's indices as one int64 array (the DataLoader's fast path)."""
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """A random permutation of the indices each epoch, or with ``replacement`` ``num_samples``
    independent uniform draws from [0, n)."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        if num_samples is not None:
            _count(num_samples, "RandomSampler", "num_samples")
        self.generator = None if generator is None else resolve_generator(generator,
                                                                          "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __len__(self) -> int:
        return self.num_samples

    def _epoch_indices(self) -> np.ndarray:
        """The epoch's indices as one int64 array: one draw from the generator."""
        n, k = len(self.data_source), self.num_samples
        gen = _epoch_generator(self.generator)
        if self.replacement:
            return gen.integers(0, n, size=k, dtype=np.int64)
        if k == n:
            return gen.permutation(n)
        whole = -(-k // n)  # without replacement but more than n: several permutations
        return np.concatenate([gen.permutation(n) for _ in range(whole)])[:k]

    def __iter__(self) -> Iterator[int]:
        return iter(self._epoch_indices().tolist())


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator=None):
        self.indices = np.asarray(indices)
        self.generator = None if generator is None else resolve_generator(
            generator, "SubsetRandomSampler")

    def __len__(self) -> int:
        return len(self.indices)

    def _epoch_indices(self) -> np.ndarray:
        return self.indices[_epoch_generator(self.generator).permutation(len(self.indices))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._epoch_indices().tolist())


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in [0, len(weights)), index i drawn with probability
    wᵢ / Σw (with or without replacement)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator=None):
        self.weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if self.weights.size == 0 or not np.all(np.isfinite(self.weights)) \
                or np.any(self.weights < 0) or self.weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        self.num_samples = _count(num_samples, "WeightedRandomSampler", "num_samples")
        if not replacement and self.num_samples > np.count_nonzero(self.weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                             f"without replacement from {np.count_nonzero(self.weights)} "
                             f"non-zero weights")
        self.replacement = bool(replacement)
        self.generator = None if generator is None else resolve_generator(
            generator, "WeightedRandomSampler")

    def __len__(self) -> int:
        return self.num_samples

    def _epoch_indices(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        return _epoch_generator(self.generator).choice(
            len(p), size=self.num_samples, replace=self.replacement, p=p).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._epoch_indices().tolist())


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; ``drop_last`` drops a
    final shorter list."""

    def __init__(self, sampler: Iterable, batch_size: int, drop_last: bool):
        self.sampler = sampler
        self.batch_size = _count(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def epoch_indices(sampler) -> np.ndarray | None:
    """One epoch of ``sampler`` as an int64 array when it can give one without a Python loop
    (chainrule's own samplers), else None."""
    fast = getattr(sampler, "_epoch_indices", None)
    if callable(fast) and type(sampler).__module__ == __name__:
        return fast()
    return None

