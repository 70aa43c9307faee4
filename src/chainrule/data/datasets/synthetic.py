"""Small seeded synthetic problems for demos and tests: spirals, moons, xor, blobs (2-d
classification) and sine (1-d regression).

Each draws ``n_samples`` points with its own NumPy generator — from ``seed``, or when ``seed``
is None from one draw of chainrule's default generator (so ``chainrule.manual_seed`` fixes
it) — shuffles them and keeps the last ``test_fraction`` as the test split. Inputs are
float32; class labels int64, regression targets float32 of shape (N, 1).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _generator
from ..dataset import ArrayDataset
from .splits import Splits, holdout

__all__ = ["spirals", "moons", "xor", "blobs", "sine"]


def _rng(seed) -> np.random.Generator:
    return _generator.resolve_generator(seed, "synthetic dataset")


def _splits(name: str, x: np.ndarray, y: np.ndarray, num_classes: int | None,
            test_fraction: float, validation: float, rng: np.random.Generator) -> Splits:
    if not 0 < test_fraction < 1:
        raise ValueError(f"{name}: test_fraction must lie in (0, 1), got {test_fraction}")
    perm = rng.permutation(len(x))
    x, y = x[perm].astype(np.float32), y[perm]
    y = y.astype(np.int64) if num_classes is not None else y.astype(np.float32)
    n_test = math.ceil(test_fraction * len(x))
    cut = len(x) - n_test
    train = ArrayDataset(x[:cut], y[:cut], num_classes=num_classes, source=name)
    test = ArrayDataset(x[cut:], y[cut:], num_classes=num_classes, source=name)
    return holdout(train, test, validation, int(rng.integers(2**31)), name)


def _check_n(name: str, n: int, minimum: int = 2) -> None:
    if int(n) != n or n < minimum:
        raise ValueError(f"{name}: n_samples must be an integer >= {minimum}, got {n!r}")


def spirals(n_samples: int = 600, *, n_classes: int = 3, turns: float = 1.0,
            noise: float = 0.2, test_fraction: float = 0.2, validation: float = 0,
            seed: int | None = None) -> Splits:
    """Interleaved spiral arms, one per class: radius r ~ U(0, 1), angle
    ``2π(turns·r + k/K)`` plus N(0, noise²) radians."""
    _check_n("spirals", n_samples, n_classes)
    rng = _rng(seed)
    y = np.arange(n_samples) % n_classes
    r = rng.uniform(0, 1, n_samples)
    angle = 2 * np.pi * (turns * r + y / n_classes) + noise * rng.standard_normal(n_samples)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return _splits("spirals", x, y, n_classes, test_fraction, validation, rng)


def moons(n_samples: int = 600, *, noise: float = 0.1, test_fraction: float = 0.2,
          validation: float = 0, seed: int | None = None) -> Splits:
    """Two interleaving half circles: (cos θ, sin θ) for class 0, (1 − cos θ, ½ − sin θ)
    for class 1, θ ~ U(0, π), plus N(0, noise²) on each coordinate."""
    _check_n("moons", n_samples)
    rng = _rng(seed)
    y = np.arange(n_samples) % 2
    theta = rng.uniform(0, np.pi, n_samples)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(theta), np.sin(theta)], axis=1),
                 np.stack([1 - np.cos(theta), 0.5 - np.sin(theta)], axis=1))
    x = x + noise * rng.standard_normal(x.shape)
    return _splits("moons", x, y, 2, test_fraction, validation, rng)


def xor(n_samples: int = 600, *, noise: float = 0.0, test_fraction: float = 0.2,
        validation: float = 0, seed: int | None = None) -> Splits:
    """Points x ~ U([-1, 1]²) labelled 1 where x₀·x₁ < 0 (the XOR of their signs); then
    N(0, noise²) is added to the inputs."""
    _check_n("xor", n_samples)
    rng = _rng(seed)
    x = rng.uniform(-1, 1, (n_samples, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    x = x + noise * rng.standard_normal(x.shape)
    return _splits("xor", x, y, 2, test_fraction, validation, rng)


def blobs(n_samples: int = 600, *, n_classes: int = 3, n_features: int = 2,
          cluster_std: float = 1.0, center_box: tuple[float, float] = (-5.0, 5.0),
          test_fraction: float = 0.2, validation: float = 0,
          seed: int | None = None) -> Splits:
    """Gaussian clusters: class k's centre c_k ~ U(center_box)^F, points c_k + N(0, std²·I)."""
    _check_n("blobs", n_samples, n_classes)
    rng = _rng(seed)
    centers = rng.uniform(center_box[0], center_box[1], (n_classes, n_features))
    y = np.arange(n_samples) % n_classes
    x = centers[y] + cluster_std * rng.standard_normal((n_samples, n_features))
    splits = _splits("blobs", x, y, n_classes, test_fraction, validation, rng)
    splits.centers = centers.astype(np.float32)
    return splits


def sine(n_samples: int = 600, *, noise: float = 0.1, low: float = -math.pi,
         high: float = math.pi, test_fraction: float = 0.2, validation: float = 0,
         seed: int | None = None) -> Splits:
    """Regression: x ~ U(low, high), target sin(x) + N(0, noise²); inputs and targets (N, 1)."""
    _check_n("sine", n_samples)
    rng = _rng(seed)
    x = rng.uniform(low, high, (n_samples, 1))
    y = np.sin(x) + noise * rng.standard_normal(x.shape)
    return _splits("sine", x, y, None, test_fraction, validation, rng)
