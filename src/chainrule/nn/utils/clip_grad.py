"""Gradient clipping, in place on ``p.grad``, with PyTorch's semantics.

clip_grad_norm_ treats all gradients as one long vector g: its total p-norm
‖g‖ = (Σ_params ‖g_param‖_p^p)^{1/p} (the max for p = ∞), and if ‖g‖ > max_norm every gradient is
scaled by max_norm / (‖g‖ + 1e-6) — the direction is kept, only the step length is capped.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ... import backend
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """‖a‖_p of the flattened array, kept in a's dtype (on a's device)."""
    xp = np if type(a) is np.ndarray else backend.get_array_module(a)
    a = xp.abs(a.reshape(-1))
    if a.size == 0:
        return xp.zeros((), a.dtype)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return xp.asarray(xp.count_nonzero(a), a.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return xp.sqrt(xp.dot(a, a))
    return (a ** a.dtype.type(p)).sum() ** a.dtype.type(1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The p-norm of the per-tensor p-norms: the norm of everything concatenated."""
    arrays = [t._data if isinstance(t, Tensor) else np.asarray(t) for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(np.zeros((), np.float32))
    dtype = np.result_type(*(a.dtype for a in arrays))
    xp = backend.op_array_module("get_total_norm", *arrays)
    norms = xp.stack([_vector_norm(a, norm_type).astype(dtype) for a in arrays])
    total = xp.asarray(_vector_norm(norms, norm_type), dtype)
    if error_if_nonfinite and not xp.isfinite(total):   # a host sync, as in PyTorch
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor._wrap(total, False, None)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)); on a GPU the coefficient
    is computed and applied on the device (no host sync)."""
    total_array = total_norm._data if isinstance(total_norm, Tensor) else total_norm
    if not isinstance(total_array, (np.ndarray, np.generic, float, int)):
        xp = backend.get_array_module(total_array)
        coef = xp.minimum(float(max_norm) / (total_array + 1e-6), 1.0)   # NaN stays NaN
        for p in _as_list(parameters):
            if p.grad is not None:
                g = p.grad._data
                g *= coef.astype(g.dtype)
                p.grad._bump_version()
        return
    total = float(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    with np.errstate(invalid="ignore"):
        coef = min(float(max_norm) / (total + 1e-6), 1.0) if not math.isnan(total) else math.nan
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad._data
            g *= g.dtype.type(coef)
            p.grad._bump_version()


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale gradients in place so that their total ``norm_type``-norm is at most
    ``max_norm``; return the total norm before clipping (a 0-d Tensor)."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if grads:
        clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient element to [−clip_value, clip_value], in place."""
    c = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad._data
            (np if type(g) is np.ndarray else backend.get_array_module(g)).clip(g, -c, c, out=g)
            p.grad._bump_version()
