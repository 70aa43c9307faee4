"""scikit-learn's 8 × 8 handwritten digits (1,797 images, 10 classes), bundled with
scikit-learn so it needs no download. scikit-learn is an optional extra (``chainrule[data]``).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..dataset import ArrayDataset
from .splits import Splits, holdout, stratified_split

__all__ = ["digits"]


def digits(*, test_fraction: float = 0.2, seed: int = 0, validation: float = 0,
           transform: Callable | None = None) -> Splits:
    """Images (N × 8 × 8 float32, pixel counts 0..16 scaled to [0, 1]) and int64 labels, split
    into train/test with ``test_fraction`` of each class in the test set (stratified; the
    split is fixed by ``seed``): 1,437 train and 360 test items by default."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("chainrule.data.datasets.digits needs scikit-learn: "
                          "pip install 'chainrule[data]' (or scikit-learn)") from None
    if not 0 < test_fraction < 1:
        raise ValueError(f"digits: test_fraction must lie in (0, 1), got {test_fraction}")
    raw = load_digits()
    images = (np.asarray(raw.images, dtype=np.float32) / np.float32(16.0))
    labels = np.asarray(raw.target, dtype=np.int64)
    n_test = math.ceil(test_fraction * len(labels))
    train_idx, test_idx = stratified_split(labels, n_test, np.random.default_rng(seed))
    source = "sklearn.datasets.load_digits"
    train = ArrayDataset(images[train_idx], labels[train_idx], transform=transform,
                         num_classes=10, source=source)
    test = ArrayDataset(images[test_idx], labels[test_idx], transform=transform,
                        num_classes=10, source=source)
    return holdout(train, test, validation, seed, "digits")
