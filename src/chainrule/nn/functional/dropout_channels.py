"""Channel-wise dropout (dropout1d/2d/3d): one Bernoulli(1 − p) draw per (sample, channel), so a
whole feature map is kept (scaled by 1/(1 − p)) or zeroed;  ∂z/∂x = m_{n,c} / (1 − p).

The masks come from the same generators as :func:`dropout` (the seeded default generator, or the
training step's per-sample stream inside ``fit``).
"""
from __future__ import annotations

import warnings

import numpy as np

from ... import backend
from ...data import batch_rng
from ...tensor import Tensor
from .dropout import _apply

__all__ = ["dropout1d", "dropout2d", "dropout3d", "feature_dropout"]


def _check(op: str, input, p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype}")


def feature_dropout(input: Tensor, p: float, training: bool, inplace: bool = False) -> Tensor:
    """Drop whole slices input[n, c, ...] of an input of at least 2 dimensions."""
    if not training or p == 0:
        return input
    dtype = input.dtype
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    if p == 1:
        mask = backend.get_array_module(input._data).zeros(shape, dtype=dtype)
        return _apply(input, mask, inplace)
    udtype = np.float64 if dtype == np.float64 else np.float32
    batch, u = batch_rng.current(), None
    if batch is not None and type(input._data) is np.ndarray:
        u = batch.uniform(shape, udtype)
    if u is None:
        u = backend.random_like(input._data, "random", shape, udtype)
    mask = (u >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return _apply(input, mask, inplace)


def _unbatched(op, input, p, training, inplace, batched_dims):
    _check(op, input, p)
    if input.ndim not in (batched_dims - 1, batched_dims):
        raise RuntimeError(f"{op}: expected {batched_dims - 1}D or {batched_dims}D input, got "
                           f"input of shape {tuple(input.shape)}")
    if input.ndim == batched_dims:
        return feature_dropout(input, p, training, inplace)
    if not training or p == 0:
        return input
    out = feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0)
    return input.copy_(out) if inplace else out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability p; scale the rest."""
    return _unbatched("dropout1d", input, p, training, inplace, 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) with probability p (a 3-D input is read, as PyTorch
    does, as (N, C, L), with a warning)."""
    _check("dropout2d", input, p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: received a {input.ndim}-D input; dropout2d expects (N, C, H, "
                      "W) and drops slices along the first two dimensions", UserWarning,
                      stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: received a 3-D input; as PyTorch, it is read as (N, C, L) and "
                      "channels are dropped per sample (use dropout1d for that meaning)",
                      UserWarning, stacklevel=2)
    if input.ndim < 2:
        raise RuntimeError(f"dropout2d: input of shape {tuple(input.shape)} has no channel "
                           "dimension")
    return feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability p."""
    return _unbatched("dropout3d", input, p, training, inplace, 5)
