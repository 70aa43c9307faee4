"""Resizing with PyTorch's signature and index rules: interpolate (nearest, nearest-exact,
linear, bilinear).

Each spatial axis is resized on its own (the modes are separable), by gathering source rows:
nearest picks x[⌊i·s⌋] (nearest-exact x[⌊(i + ½)·s⌋]), linear mixes x[i₀]·(1 − λ) + x[i₁]·λ at
the source coordinate u = (i + ½)·s − ½ (clamped at 0), or u = i·(n − 1)/(m − 1) with
align_corners, where s = n/m or 1/scale_factor. Gathers and products only, so the gradient
scatter-adds back to the sources (and is differentiable again).
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...tensor import Tensor

__all__ = ["interpolate", "upsample"]

_LINEAR = {"linear": 1, "bilinear": 2}
_NEAREST = ("nearest", "nearest-exact")


def _per_axis(value, nd: int, what: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != nd:
            raise ValueError(f"interpolate: {what} {tuple(value)} must have {nd} elements for an "
                             f"input with {nd} spatial dimensions")
        return tuple(value)
    return (value,) * nd


def _geometry(x: Tensor, size, scale_factor, recompute_scale_factor) -> tuple:
    """(output sizes, scales handed to the index rule or None per axis)."""
    nd = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be given, got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    if size is not None:
        out = tuple(int(s) for s in _per_axis(size, nd, "size"))
        if any(s <= 0 for s in out):
            raise ValueError(f"interpolate: size must be positive, got {size!r}")
        return out, (None,) * nd
    scales = tuple(float(s) for s in _per_axis(scale_factor, nd, "scale_factor"))
    if any(not s > 0 or not math.isfinite(s) for s in scales):
        raise ValueError(f"interpolate: scale_factor must be positive and finite, got "
                         f"{scale_factor!r}")
    out = tuple(int(math.floor(n * s)) for n, s in zip(x.shape[2:], scales))
    if any(s <= 0 for s in out):
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} gives an empty output "
                         f"{out} for input shape {tuple(x.shape)}")
    return out, (None,) * nd if recompute_scale_factor else scales


def _step(n: int, m: int, scale) -> float:
    """Source step per output index: 1/scale_factor when one was given, else n/m."""
    return 1.0 / scale if scale is not None else n / m


def _nearest_index(n: int, m: int, scale, exact: bool, shortcuts: bool) -> np.ndarray:
    """PyTorch's rule, in float32 as its kernel computes it: min(⌊i·s⌋, n − 1), or with
    ``exact`` min(⌊(i + ½)·s⌋, n − 1). With ``shortcuts`` (PyTorch's 2-D nearest kernel) an
    axis of unchanged size is copied and one of doubled size reads i >> 1, whatever the scale;
    its 1-D and 3-D kernels apply the formula throughout."""
    if shortcuts and m == n:
        return np.arange(m)
    if shortcuts and m == 2 * n:
        return np.arange(m) >> 1
    i = np.arange(m, dtype=np.float32)
    s = np.float32(_step(n, m, scale))
    src = np.floor((i + np.float32(0.5)) * s) if exact else np.floor(i * s)
    return np.minimum(src.astype(np.int64), n - 1)


def _linear_weights(n: int, m: int, scale, align_corners: bool, dtype) -> tuple:
    """(i₀, i₁, λ) with output i = x[i₀]·(1 − λ) + x[i₁]·λ."""
    i = np.arange(m, dtype=np.float64)
    if align_corners:
        src = i * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        src = np.maximum((i + 0.5) * _step(n, m, scale) - 0.5, 0.0)
    i0 = np.minimum(src.astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, (src - i0).astype(dtype)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial axes of (N, C, *S) to ``size`` or ⌊S·scale_factor⌋ by ``mode``
    ('nearest', 'nearest-exact' for 1-3 spatial axes; 'linear' for 3-D, 'bilinear' for 4-D)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode not in _NEAREST and mode not in _LINEAR:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (supported: "
                                  f"'nearest', 'nearest-exact', 'linear', 'bilinear')")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the interpolating "
                         f"modes 'linear' and 'bilinear', not mode={mode!r}")
    nd = input.ndim - 2
    if mode in _LINEAR and nd != _LINEAR[mode]:
        raise ValueError(f"interpolate: mode={mode!r} needs a {_LINEAR[mode] + 2}-D input "
                         f"(N, C, *spatial), got shape {tuple(input.shape)}")
    if not 1 <= nd <= 3:
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got "
                         f"shape {tuple(input.shape)}")
    if mode in _LINEAR and input.dtype.kind != "f":
        raise TypeError(f"interpolate: mode={mode!r} needs a floating input, got {np.dtype(input.dtype).name}")
    out, scales = _geometry(input, size, scale_factor, recompute_scale_factor)
    y = input
    for axis, (n, m, s) in enumerate(zip(input.shape[2:], out, scales), start=2):
        if mode in _NEAREST:
            y = ops.take(y, _nearest_index(n, m, s, mode == "nearest-exact",
                                                   mode == "nearest" and nd == 2), axis=axis)
            continue
        if m == n:      # PyTorch copies an axis whose size is unchanged, whatever the scale
            continue
        i0, i1, lam = _linear_weights(n, m, s, bool(align_corners), y.dtype)
        lam = lam.reshape((m,) + (1,) * (y.ndim - 1 - axis))
        lo, hi = ops.take(y, i0, axis=axis), ops.take(y, i1, axis=axis)
        y = ops.add(lo, ops.multiply(ops.subtract(hi, lo), Tensor._wrap(lam, False, None)))
    return y


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """The older name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)
