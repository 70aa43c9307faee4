"""Train/validation/test splits shared by the built-in datasets."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..dataset import ArrayDataset

__all__ = ["Splits", "stratified_split", "take", "holdout"]


class Splits:
    """The datasets of one benchmark: ``train``, ``test`` and optionally ``validation``.

    Unpacks as ``train, test = splits`` or, with a validation split,
    ``train, validation, test = splits``.
    """

    def __init__(self, train: ArrayDataset, test: ArrayDataset,
                 validation: ArrayDataset | None = None):
        self.train, self.test, self.validation = train, test, validation

    def __iter__(self) -> Iterator[ArrayDataset]:
        if self.validation is None:
            return iter((self.train, self.test))
        return iter((self.train, self.validation, self.test))

    def __repr__(self) -> str:
        val = "" if self.validation is None else f", validation={len(self.validation)}"
        return f"Splits(train={len(self.train)}{val}, test={len(self.test)})"


def _count(n_total: int, amount: float, who: str) -> int:
    """``amount`` as a count: an int is itself, a float in (0, 1) a fraction (rounded up), 0.0
    none. A bool, or a float of 1 or more (a count or 100 %?), is refused as ambiguous."""
    if isinstance(amount, float) and 0 < amount < 1:
        return math.ceil(amount * n_total)
    whole = isinstance(amount, (int, np.integer)) or (isinstance(amount, float)
                                                       and amount == 0)
    if isinstance(amount, bool) or not whole or not 0 <= amount <= n_total:
        raise ValueError(f"{who}: expected a count in [0, {n_total}] or a fraction in (0, 1), "
                         f"got {amount!r}")
    return int(amount)


def stratified_split(labels: np.ndarray, n_test: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` with ``n_test`` test items whose class proportions match
    ``labels`` (each class gets its quota rounded down, the remainder goes to the largest
    fractional parts). Both index arrays are sorted."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * (n_test / len(labels))
    k = np.floor(quota).astype(np.int64)
    frac = quota - k
    order = np.lexsort((rng.random(len(classes)), -frac))  # ties broken at random
    k[order[:n_test - int(k.sum())]] += 1
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:m]
                           for c, m in zip(classes, k)])
    test.sort()
    train = np.setdiff1d(np.arange(len(labels)), test, assume_unique=True)
    return train, test


def take(ds: ArrayDataset, idx: np.ndarray, source: str | None = None) -> ArrayDataset:
    """A new ArrayDataset of the items at ``idx`` (same transforms and classes)."""
    return ArrayDataset(ds.inputs[idx], None if ds.targets is None else ds.targets[idx],
                        transform=ds.transform, target_transform=ds.target_transform,
                        num_classes=ds.num_classes, source=source or ds.source, check=False)


def holdout(train: ArrayDataset, test: ArrayDataset, validation: float, seed: int,
            who: str) -> Splits:
    """Splits with ``validation`` items (a count or a fraction of ``train``) held out of
    ``train`` at random — stratified by class when there are class labels — with ``seed``."""
    n_val = _count(len(train), validation, f"{who}: validation")
    if n_val == 0:
        return Splits(train, test)
    rng = np.random.default_rng(seed)
    if train.num_classes is not None:
        keep, val = stratified_split(train.targets, n_val, rng)
    else:
        perm = rng.permutation(len(train))
        keep, val = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    return Splits(take(train, keep), test,
                  take(train, val, f"{train.source} (validation)"))
