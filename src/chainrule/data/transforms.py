"""Transforms applied to whole batches of arrays (the leading axis is the batch), vectorised.

A transform is any callable ``batch -> batch``. Datasets apply it to each batch the loader
fetches, in one NumPy expression; a single item is transformed as a batch of one.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import backend
from .checks import cast_checked

__all__ = ["Compose", "ToFloat", "Normalize", "Flatten", "apply_to_item"]


def apply_to_item(transform: Callable | None, item):
    """Apply a batch transform to one item (as a batch of one)."""
    if transform is None:
        return item
    return transform(item[None])[0]


class Compose:
    """Apply transforms in order: ``Compose([f, g])(x) == g(f(x))``."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got "
                                f"{type(t).__name__}")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose([{', '.join(map(repr, self.transforms))}])"


class ToFloat:
    """uint8 → float in [0, 1] (``x / 255``); other integer or float arrays are cast unscaled.

    The result has ``dtype`` (float32 by default); a value too large for it (1e300 from
    float64 to float32) raises :class:`DataError` rather than becoming inf.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"ToFloat: dtype must be floating, got {np.dtype(self.dtype).name}")

    def __call__(self, x):
        xp = backend.get_array_module(x)
        x = xp.asarray(x)
        if x.dtype == np.uint8:
            out = x.astype(self.dtype)
            out /= self.dtype.type(255.0)  # division, as torchvision's ToTensor: bitwise equal
            return out
        return cast_checked(x, self.dtype, "ToFloat", "batch")

    def __repr__(self) -> str:
        return f"ToFloat({self.dtype.name})"


class Normalize:
    """``(x - mean) / std``, with ``mean`` and ``std`` broadcast against one item.

    By default they align with an item's trailing axes (NumPy broadcasting), so scalars
    normalise everything and a length-F vector normalises F features. For per-channel image
    statistics pass ``axis`` (counted from the end of an item: ``-3`` for C × H × W), and a
    length-C ``mean``/``std`` is laid along that axis, as in torchvision.
    """

    def __init__(self, mean, std, axis: int | None = None):
        mean = np.asarray(mean, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))) or np.any(std <= 0):
            raise ValueError(f"Normalize: std must be positive and mean/std finite, got "
                             f"mean={mean.tolist()}, std={std.tolist()}")
        if axis is not None:
            if axis >= 0:
                raise ValueError(f"Normalize: axis counts from the end of an item and must be "
                                 f"negative (e.g. -3 for C×H×W), got {axis}")
            if mean.ndim > 1 or std.ndim > 1:
                raise ValueError(f"Normalize: with axis= mean and std must be scalars or 1-d, "
                                 f"got shapes {tuple(mean.shape)} and {tuple(std.shape)}")
            tail = (1,) * (-axis - 1)
            mean = mean.reshape(mean.shape + tail)
            std = std.reshape(std.shape + tail)
        self.mean, self.std, self.axis = mean, std, axis

    def __call__(self, x):
        xp = backend.get_array_module(x)
        x = xp.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        item_ndim = x.ndim - 1
        if self.mean.ndim > item_ndim or self.std.ndim > item_ndim:
            raise ValueError(f"Normalize: mean {tuple(self.mean.shape)} / std {tuple(self.std.shape)} have "
                             f"more axes than an item of shape {tuple(x.shape[1:])}")
        mean = xp.asarray(self.mean, dtype=dtype)
        std = xp.asarray(self.std, dtype=dtype)
        try:
            return (x.astype(dtype, copy=False) - mean) / std
        except ValueError:
            raise ValueError(f"Normalize: mean {tuple(self.mean.shape)} / std {tuple(self.std.shape)} do not "
                             f"broadcast against items of shape {tuple(x.shape[1:])} (for "
                             f"per-channel statistics pass axis=, e.g. -3 for C×H×W)") from None

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


class Flatten:
    """Flatten each item: a batch (N, d1, d2, ...) becomes (N, d1·d2·...)."""

    def __init__(self, start_dim: int = 1):
        if start_dim < 1:
            raise ValueError(f"Flatten: start_dim must be >= 1 (axis 0 is the batch), got "
                             f"{start_dim}")
        self.start_dim = start_dim

    def __call__(self, x):
        keep = tuple(x.shape[:self.start_dim])
        return x.reshape(keep + (int(np.prod(x.shape[self.start_dim:], dtype=np.int64)),))

    def __repr__(self) -> str:
        return "Flatten()" if self.start_dim == 1 else f"Flatten(start_dim={self.start_dim})"
