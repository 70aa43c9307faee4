"""Losses with PyTorch's names, signatures and reductions ('mean' | 'sum' | 'none').

Regression and margin losses are compositions of ops. The two binary cross-entropies are fused
primitives: ``binary_cross_entropy`` clamps its logs at −100 as PyTorch does, and
``binary_cross_entropy_with_logits`` never forms σ(x) before the log, so logits of ±1e4 give finite
losses and gradients. Cross-entropy and NLL live in :mod:`.cross_entropy`.
"""
from __future__ import annotations

import warnings

import numpy as np

from ... import backend, devices, ops
from ...autograd.function import Function
from ...ops import _operands as O
from ...tensor import Tensor
from .cross_entropy import cross_entropy, nll_loss, legacy_reduction, reduce_loss, check_tensor

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss",
           "multi_margin_loss"]


def _pair(name: str, input, target):
    """Check the operands; warn, as PyTorch does, when their shapes differ and will broadcast."""
    check_tensor(name, "input", input)
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{name}: target shape {tuple(target.shape)} does not broadcast "
                             f"with input shape {tuple(input.shape)}") from None
        warnings.warn(f"{name}: target shape {tuple(target.shape)} differs from input shape "
                      f"{tuple(input.shape)}; they will broadcast, which is likely not intended",
                      UserWarning, stacklevel=3)
    return input, target


def _weighted(name: str, loss, input, weight, reduction: str, mean_by_weight: bool):
    """Elementwise ``weight`` (same shape as input), then PyTorch's weighted reduction: mse and
    l1 divide by Σ weight, huber by the element count."""
    if weight is None:
        return reduce_loss(name, loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{name}: weight shape {tuple(weight.shape)} must equal input shape "
                         f"{tuple(input.shape)}")
    loss = ops.multiply(loss, weight)
    if reduction == "mean" and mean_by_weight:
        return ops.divide(ops.sum(loss), ops.sum(weight))
    return reduce_loss(name, loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """ℓ = (x − t)²;  ∂ℓ/∂x = 2(x − t)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _pair("mse_loss", input, target)
    d = ops.subtract(input, target)
    return _weighted("mse_loss", ops.multiply(d, d), input, weight, reduction, True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """ℓ = |x − t|;  ∂ℓ/∂x = sign(x − t) (0 at 0)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _pair("l1_loss", input, target)
    return _weighted("l1_loss", ops.absolute(ops.subtract(input, target)), input, weight,
                     reduction, True)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """ℓ = ½d² if |d| < δ else δ(|d| − ½δ), d = x − t;  ∂ℓ/∂x = clamp(d, −δ, δ)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair("huber_loss", input, target)
    d = ops.subtract(input, target)
    ad = ops.absolute(d)
    quad = ops.multiply(ops.multiply(d, d), 0.5)
    lin = ops.multiply(ops.subtract(ad, 0.5 * delta), float(delta))
    return _weighted("huber_loss", ops.where(ad._data < delta, quad, lin), input, weight,
                     reduction, False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """ℓ = ½d²/β if |d| < β else |d| − ½β (β = 0: plain L1);  ∂ℓ/∂x = clamp(d/β, −1, 1).
    Equals huber_loss(δ = β) / β."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _pair("smooth_l1_loss", input, target)
    d = ops.subtract(input, target)
    ad = ops.absolute(d)
    if beta == 0:
        return reduce_loss("smooth_l1_loss", ad, reduction)
    quad = ops.multiply(ops.multiply(d, d), 0.5 / beta)
    lin = ops.subtract(ad, 0.5 * beta)
    return reduce_loss("smooth_l1_loss", ops.where(ad._data < beta, quad, lin), reduction)


# -- binary classification: fused primitives -------------------------------------------------
class BinaryCrossEntropy(Function):
    """ℓ = −[t·max(ln x, −100) + (1 − t)·max(ln(1 − x), −100)];
    ∂ℓ/∂x = (x − t) / max(x(1 − x), 1e-12) (PyTorch's rule), ∂ℓ/∂t = max(ln(1−x), −100) − max(ln x, −100)."""

    def forward(self, xp, x, t):
        self.save(x, t)
        with np.errstate(divide="ignore"):
            return -(t * xp.maximum(xp.log(x), -100) + (1 - t) * xp.maximum(xp.log1p(-x), -100))

    def backward(self, xp, g):
        x, t = self.saved
        nx, nt = self.needs_input_grad
        gx = g * (x - t) / xp.maximum(x * (1 - x), 1e-12) if nx else None
        gt = None
        if nt:
            with np.errstate(divide="ignore"):
                gt = g * (xp.maximum(xp.log1p(-x), -100) - xp.maximum(xp.log(x), -100))
        return gx, gt


def _softplus_neg(xp, x):
    """softplus(−x) = ln(1 + e^{−x}) = max(−x, 0) + ln(1 + e^{−|x|}): no overflow at any x."""
    return xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = (1 − t)·x + (1 + (p − 1)t)·softplus(−x)  (= −[p·t·ln σ(x) + (1 − t)·ln(1 − σ(x))]);
    ∂ℓ/∂x = (1 + (p − 1)t)·σ(x) − p·t,  ∂ℓ/∂t = −x + (p − 1)·softplus(−x),  ∂ℓ/∂p = t·softplus(−x)."""

    def forward(self, xp, x, t, p=None):
        self.save(x, t, p)
        sp = _softplus_neg(xp, x)
        scale = 1 + (p - 1) * t if p is not None else 1
        return (1 - t) * x + scale * sp

    def backward(self, xp, g):
        x, t, p = self.saved
        needs = self.needs_input_grad
        nx, nt, np_ = needs[0], needs[1], len(needs) > 2 and needs[2]
        gx = gt = gp = None
        if nx:
            s = _sigmoid(xp, x)
            gx = g * (s - t) if p is None else g * ((1 + (p - 1) * t) * s - p * t)
        if nt:
            gt = -g * x if p is None else g * ((p - 1) * _softplus_neg(xp, x) - x)
        if np_:
            gp = g * t * _softplus_neg(xp, x)
        return (gx, gt, gp)[:len(needs)]


def _float_target(name: str, input, target):
    input, target = _pair(name, input, target)
    return input, ops.cast(target, input.dtype)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """ℓ = −w[t ln x + (1 − t) ln(1 − x)] for probabilities x ∈ [0, 1], logs clamped at −100."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _float_target("binary_cross_entropy", input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy: target shape {tuple(target.shape)} must equal "
                         f"input shape {tuple(input.shape)}")
    x = input._data
    if x.size and not ((x >= 0) & (x <= 1)).all():
        bad = x[~((x >= 0) & (x <= 1))].flat[0]
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and "
                         f"1 (found {bad}); for logits use binary_cross_entropy_with_logits")
    t = target._data
    if t.size and not ((t >= 0) & (t <= 1)).all():
        raise ValueError("binary_cross_entropy: all elements of target should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = ops.multiply(loss, weight)
    return reduce_loss("binary_cross_entropy", loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """ℓ = −w[p·t·ln σ(x) + (1 − t)·ln(1 − σ(x))] on logits x, computed without forming σ(x):
    finite for any logit. ``pos_weight`` p weighs the positive term (broadcast over classes)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _float_target("binary_cross_entropy_with_logits", input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target shape "
                         f"{tuple(target.shape)} must equal input shape {tuple(input.shape)}")
    if pos_weight is not None:
        if not isinstance(pos_weight, Tensor):
            pos_weight = Tensor(pos_weight, dtype=input.dtype)
        pos_weight = O.operand(pos_weight, input.dtype)
        try:
            np.broadcast_shapes(pos_weight.shape, input.shape)
        except ValueError:
            raise ValueError(f"binary_cross_entropy_with_logits: pos_weight shape "
                             f"{tuple(pos_weight.shape)} does not broadcast with input shape "
                             f"{tuple(input.shape)}") from None
        loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    else:
        loss = BinaryCrossEntropyWithLogits.apply(input, target)
    if weight is not None:
        loss = ops.multiply(loss, weight)
    return reduce_loss("binary_cross_entropy_with_logits", loss, reduction)


# -- margin losses -----------------------------------------------------------------------------
def hinge_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """ℓ = max(0, 1 − t·y) for scores y and targets t ∈ {−1, +1} (the SVM hinge; not in
    PyTorch);  ∂ℓ/∂y = −t where t·y < 1, else 0."""
    input, target = _pair("hinge_loss", input, target)
    t = target._data
    if t.size and not np.isin(t, (-1, 1)).all():
        raise ValueError(f"hinge_loss: targets must be -1 or +1, found {t[~np.isin(t, (-1, 1))].flat[0]}")
    margin = ops.subtract(1.0, ops.multiply(input, O.operand(target, input.dtype)))
    return reduce_loss("hinge_loss", ops.relu(margin), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """ℓ = (1/C) Σ_{j≠y} w_y · max(0, margin − x_y + x_j)^p, p ∈ {1, 2} (multi-class hinge);
    the gradient flows to x_j and −x_y wherever the margin is violated."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_tensor("multi_margin_loss", "input", input)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p = 1 and p = 2 are supported, got {p}")
    unbatched = input.ndim == 1
    x = ops.reshape(input, (1, -1)) if unbatched else input
    if x.ndim != 2:
        raise ValueError(f"multi_margin_loss: input must be (C,) or (N, C), got shape "
                         f"{tuple(input.shape)}")
    n, c = x.shape
    t = target._data if isinstance(target, Tensor) else target
    t = (t if backend.is_array(t) else np.asarray(t)).reshape(-1)
    if t.dtype.kind not in "iu" or t.shape[0] != n:
        raise ValueError(f"multi_margin_loss: target must hold {n} class indices, got shape "
                         f"{np.shape(target._data if isinstance(target, Tensor) else target)} "
                         f"dtype {np.dtype(t.dtype).name}")
    if t.size and type(t) is not np.ndarray:       # checked on the device, read at a sync
        devices.defer_check(((t < 0) | (t >= c)).any(), f"multi_margin_loss: a target is out of "
                            f"bounds for {c} classes; found on the GPU and reported at this sync")
    elif t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"multi_margin_loss: target {t[(t < 0) | (t >= c)][0]} is out of "
                         f"bounds for {c} classes")
    x_y = ops.take_along_axis(x, t[:, None].astype(np.intp), 1)            # (N, 1)
    h = ops.relu(ops.add(ops.subtract(x, x_y), float(margin)))
    if p == 2:
        h = ops.multiply(h, h)
    xp = np if type(t) is np.ndarray else backend.get_array_module(t)   # on the target's device
    others = xp.ones((n, c), dtype=x.dtype)
    others[xp.arange(n), t] = 0
    if weight is not None:
        w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
        others *= w.astype(x.dtype)[t][:, None]
    loss = ops.divide(ops.sum(ops.multiply(h, others), axis=1), float(c))
    if unbatched:
        loss = ops.reshape(loss, ())
    return reduce_loss("multi_margin_loss", loss, reduction)
