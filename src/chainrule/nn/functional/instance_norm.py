"""Instance normalisation: each (sample, channel) slice normalised over its positions,
y = γ_c·(x − μ_nc)/√(σ²_nc + ε) + β_c (σ² biased) — group_norm with one channel per group.

With running statistics (``track_running_stats``) training also updates, as PyTorch,
r ← (1 − m)·r + m·mean_n(stat_nc) with the unbiased per-instance variance; with
``use_input_stats=False`` the running statistics normalise instead.
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...tensor import Tensor
from .normalization import group_norm, _affine

__all__ = ["instance_norm"]


def _update_running(x: np.ndarray, running_mean, running_var, momentum: float) -> None:
    axes = tuple(range(2, x.ndim))
    count = math.prod(x.shape[2:])
    mean = x.mean(axis=axes)
    var = x.var(axis=axes, ddof=1) if count > 1 else np.full(mean.shape, np.nan, x.dtype)
    for buf, stat in ((running_mean, mean), (running_var, var)):
        if buf is not None:
            buf._data *= 1.0 - momentum
            buf._data += (momentum * stat.mean(axis=0)).astype(buf.dtype)
            buf._bump_version()


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise input (N, C, *) per sample and channel; see the module docstring."""
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *spatial), got "
                         f"{tuple(getattr(input, 'shape', ())) or type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"instance_norm: input must be floating point, got {input.dtype}")
    c = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"instance_norm: {what} must have shape ({c},) for input "
                             f"{tuple(input.shape)}, got {tuple(t.shape)}")
    if use_input_stats:
        if math.prod(input.shape[2:]) == 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when "
                             f"training, got input of shape {tuple(input.shape)}")
        if running_mean is not None or running_var is not None:
            _update_running(input._data, running_mean, running_var, momentum)
        return group_norm(input, c, weight, bias, eps)
    if running_mean is None or running_var is None:
        raise ValueError("instance_norm: running_mean and running_var are needed when "
                         "use_input_stats=False")
    shape = (c,) + (1,) * (input.ndim - 2)
    mean = ops.reshape(running_mean.detach(), shape)
    inv = 1.0 / np.sqrt(running_var._data + eps)
    y = ops.multiply(ops.subtract(input, mean), inv.astype(input.dtype).reshape(shape))
    return _affine(y, weight, bias, shape)
