"""Kullback–Leibler divergence with PyTorch's argument order: ``input`` holds log-probabilities,
``target`` probabilities (or log-probabilities with ``log_target=True``)."""
from __future__ import annotations

import warnings

import numpy as np

from ... import ops
from ...tensor import Tensor
from .cross_entropy import legacy_reduction, check_tensor

__all__ = ["kl_div"]


def _xlogx(t: Tensor) -> Tensor:
    """t·log t with 0·log 0 = 0 (and a zero gradient there)."""
    pos = t._data > 0
    return ops.where(pos, ops.multiply(t, ops.log(ops.where(pos, t, 1.0))), 0.0)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """ℓ = t·(log t − x), or e^t·(t − x) with log_target;  ∂ℓ/∂x = −t (−e^t).
    Reductions: 'none', 'sum', 'mean' (over all elements), 'batchmean' (sum / batch size)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_tensor("kl_div", "input", input)
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    check_tensor("kl_div", "target", target)
    if reduction not in ("none", "sum", "mean", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'none', 'sum', 'mean' or 'batchmean', got "
                         f"{reduction!r}")
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise ValueError(f"kl_div: target shape {tuple(target.shape)} does not broadcast with "
                         f"input shape {tuple(input.shape)}") from None
    if log_target:
        loss = ops.multiply(ops.exp(target), ops.subtract(target, input))
    else:
        loss = ops.subtract(_xlogx(target), ops.multiply(target, input))
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides by the number of elements, not the "
                      "batch size; 'batchmean' gives the mathematical KL divergence",
                      UserWarning, stacklevel=2)
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "batchmean":
        total = ops.sum(loss)
        return ops.divide(total, float(input.shape[0])) if input.ndim else total
    return loss
