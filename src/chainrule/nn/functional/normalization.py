"""batch_norm, layer_norm and group_norm: fused normalising primitives, a per-feature affine map.

All standardise x over some axes, x̂ = (x − μ)/√(σ² + ε) with the biased variance σ² (PyTorch's
definition), and then apply y = γ·x̂ + β. The notes write x̂ = (x − μ)/(σ + ε); the two agree
as ε → 0, and PyTorch's form is the one implemented (so results and checkpoints match it): its ε
sits under the square root, keeping the map smooth even when σ = 0.

Batch norm normalises each channel over the batch and spatial axes (in training one primitive,
:class:`~.batch_norm_train.NativeBatchNorm`, standardises and applies γ, β); in training it also
updates the running estimates with the *unbiased* variance σ²·n/(n − 1), and in evaluation it
uses those estimates instead of the batch's. Layer norm normalises each sample over its trailing
``normalized_shape`` axes, the same in training and evaluation.
"""
from __future__ import annotations

import math

import numpy as np

from ... import backend, ops
from ...autograd.function import Function
from ...tensor import Tensor
from .batch_norm_train import NativeBatchNorm, batch_moments

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _moments(xp, x, axes):
    """(mean, biased variance) over ``axes``, kept as size-1 axes for broadcasting."""
    mu = xp.mean(x, axis=axes, keepdims=True)
    c = x - mu
    return mu, xp.mean(c * c, axis=axes, keepdims=True)


class Normalize(Function):
    """x̂ = (x − μ)·r with μ, σ² the mean and biased variance over ``axes``, r = 1/√(σ² + ε);
    ∂L/∂x = r·(g − mean(g) − x̂·mean(g·x̂)), the means taken over the same axes."""

    def forward(self, xp, x, axes=(), eps=1e-5, stats=None):
        self.axes, self.eps = axes, eps
        mu, var = stats if stats is not None else _moments(xp, x, axes)
        r = 1.0 / xp.sqrt(var + eps)
        xhat = x - mu
        xhat *= r
        self.save(x, xhat, r)
        return xhat

    def backward(self, xp, g):
        x, xhat, r = self.saved
        if isinstance(x, Tensor):  # create_graph: recompute the statistics differentiably from x
            mu, var = _moments(xp, x, self.axes)
            r = 1.0 / xp.sqrt(var + self.eps)
            xhat = (x - mu) * r
        axes = self.axes
        mean_g = xp.mean(g, axis=axes, keepdims=True)
        mean_gx = xp.mean(g * xhat, axis=axes, keepdims=True)
        return (r * (g - mean_g - xhat * mean_gx),)


def _affine(y: Tensor, weight, bias, shape: tuple) -> Tensor:
    """y·γ + β with γ, β reshaped to ``shape`` for broadcasting."""
    if weight is not None:
        y = ops.multiply(y, ops.reshape(weight, shape) if weight.shape != shape else weight)
    if bias is not None:
        y = ops.add(y, ops.reshape(bias, shape) if bias.shape != shape else bias)
    return y


def _check_param(name: str, what: str, p, c: int) -> None:
    if p is not None and tuple(p.shape) != (c,):
        raise ValueError(f"{name}: {what} must have shape ({c},), got {tuple(p.shape)}")



def update_running_stats(running_mean, running_var, mu, var, n: int, momentum: float) -> None:
    """In place: running_mean ← (1 − m)·running_mean + m·μ and running_var ← (1 − m)·running_var
    + m·σ²·n/(n − 1) (the unbiased batch variance), per channel; either may be None."""
    if running_mean is not None:
        rm = running_mean._data
        rm *= 1 - momentum
        rm += momentum * mu.reshape(-1).astype(rm.dtype, copy=False)
        running_mean._bump_version()
    if running_var is not None:
        rv = running_var._data
        rv *= 1 - momentum
        rv += (momentum * n / (n - 1)) * var.reshape(-1).astype(rv.dtype, copy=False)
        running_var._bump_version()


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = γ·(x − μ)/√(σ² + ε) + β per channel (dim 1). Training: μ, σ² are the batch's (biased),
    and running_mean/var (if given) move by ``momentum`` towards μ and the unbiased σ²·n/(n−1).
    Evaluation: μ, σ² are running_mean/var."""
    name = "batch_norm"
    if isinstance(input, Tensor) and input.ndim < 2 and input._data.size == 0:
        return ops.multiply(input, 0.0)     # PyTorch: an empty input gives an empty output
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"{name}: input must be a Tensor of shape (N, C, ...), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    c = input.shape[1]
    for what, p in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        _check_param(name, what, p, c)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training and input._data.size == 0:
        # an empty batch: an empty output (still in the graph, so γ and β get zero gradients);
        # no statistics, so the running estimates stay as they are (PyTorch's behaviour)
        return _affine(ops.multiply(input, 0.0), weight, bias, shape)
    if training:
        n = input._data.size // c
        if n <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, got "
                             f"input of shape {tuple(input.shape)}")
        stats = batch_moments(backend.get_array_module(input._data), input._data, centred=True)
        update_running_stats(running_mean, running_var, stats[0], stats[1], n, momentum)
        return NativeBatchNorm.apply(input, weight, bias, eps=eps, stats=stats)
    if running_mean is None or running_var is None:
        raise ValueError(f"{name}: running_mean and running_var are needed when training=False")
    # Evaluation: a fixed per-channel affine map x·s + t, s = γ/√(var + ε), t = β − mean·s.
    dt = input.dtype
    rv = running_var._data
    xp = np if type(rv) is np.ndarray else backend.get_array_module(rv)
    r = 1.0 / xp.sqrt(rv.astype(dt, copy=False) + dt.type(eps))
    mean = running_mean._data.astype(dt, copy=False)
    scale = ops.multiply(weight, r) if weight is not None else Tensor._wrap(r, False, None)
    shift = ops.multiply(scale, -mean)
    if bias is not None:
        shift = ops.add(shift, bias)
    return ops.add(ops.multiply(input, ops.reshape(scale, shape)), ops.reshape(shift, shape))


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² (biased) over the trailing ``normalized_shape``
    axes of each sample; γ, β have shape ``normalized_shape``."""
    name = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if not isinstance(input, Tensor) or k == 0 or tuple(input.shape[input.ndim - k:]) != shape \
            or input.ndim < k:
        raise ValueError(f"{name}: input shape {tuple(getattr(input, 'shape', ()))} does not end "
                         f"with normalized_shape {shape}")
    for what, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"{name}: {what} must have shape {shape}, got {tuple(p.shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    y = Normalize.apply(input, axes=axes, eps=eps)
    return _affine(y, weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = γ_c·(x − μ_g)/√(σ²_g + ε) + β_c, with μ_g, σ²_g (biased) over each sample's channels
    of group g and all their positions; input (N, C, *), C divisible by ``num_groups``."""
    name = "group_norm"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got "
                         f"{tuple(getattr(input, 'shape', ())) or type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"group_norm: input must be floating point, got {np.dtype(input.dtype).name}")
    n, c = input.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) \
            or num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: the number of channels ({c}) of input shape "
                         f"{tuple(input.shape)} must be divisible by num_groups ({num_groups!r})")
    _check_param(name, "weight", weight, c)
    _check_param(name, "bias", bias, c)
    if n * (c // num_groups) * math.prod(input.shape[2:]) == 1:
        raise ValueError(f"group_norm: input shape {tuple(input.shape)} with num_groups="
                         f"{num_groups} leaves one value per group to normalise")
    grouped = ops.reshape(input, (n, num_groups, -1))
    y = ops.reshape(Normalize.apply(grouped, axes=(2,), eps=eps), tuple(input.shape))
    return _affine(y, weight, bias, (c,) + (1,) * (input.ndim - 2))
