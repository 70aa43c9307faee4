"""Reductions with PyTorch's names and signatures (``dim``, ``keepdim``, ``correction``)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import ops
from ..ops.reduction import check_nonempty, normalize_axis
from ..tensor import Tensor
from ._args import dim_arg, keep_arg

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "var_mean", "logsumexp",
           "argmax", "argmin", "prod", "all", "any"]


class ValuesIndices(NamedTuple):
    """What ``max(dim)``/``min(dim)`` return, as PyTorch's ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Σ over ``dim`` (all elements when None)."""
    return ops.sum(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims), dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """(1/n) Σ over ``dim``."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    return ops.mean(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def _extreme(input, dim, keepdim, largest: bool):
    if dim is None:  # whole tensor: the gradient is shared among ties, as PyTorch does
        return ops.amax(input) if largest else ops.amin(input)
    if isinstance(dim, tuple):
        raise TypeError("max/min with indices take a single dim; use amax/amin for several")
    check_nonempty("max" if largest else "min", input.shape, dim)
    idx = (np.argmax if largest else np.argmin)(input._data, axis=dim)
    idx = np.expand_dims(idx, dim)
    values = ops.take_along_axis(input, idx, dim)
    indices = Tensor._wrap(idx.astype(np.int64), False, None)
    if not keepdim:
        values = ops.squeeze(values, dim)
        indices = Tensor._wrap(np.squeeze(indices._data, dim), False, None)
    return ValuesIndices(values, indices)


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):  # noqa: A001
    """The largest element, or with ``dim`` the (values, indices) of the largest along it.
    ``max(a, b)`` with a tensor second argument is the elementwise maximum."""
    if isinstance(dim, Tensor):
        return ops.maximum(input, dim)
    return _extreme(input, dim_arg(dim, axis), keep_arg(keepdim, keepdims), True)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):  # noqa: A001
    """The smallest element, or with ``dim`` the (values, indices) of the smallest along it."""
    if isinstance(dim, Tensor):
        return ops.minimum(input, dim)
    return _extreme(input, dim_arg(dim, axis), keep_arg(keepdim, keepdims), False)


def amax(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Largest values over ``dim``; ties share the gradient equally."""
    return ops.amax(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def amin(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Smallest values over ``dim``; ties share the gradient equally."""
    return ops.amin(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def _count(shape, dim) -> int:
    axes = normalize_axis(dim, len(shape))
    return int(np.prod(shape)) if axes is None else int(np.prod([shape[a] for a in axes]))


def var(input, dim=None, *, correction=1, keepdim=False, unbiased=None, axis=None,
        keepdims=None):
    """Σ(x − x̄)² / (n − correction): correction=1 is the sample variance, 0 the population's."""
    dim = dim_arg(dim, axis)
    keepdim = keep_arg(keepdim, keepdims)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    centred = ops.subtract(input, ops.mean(input, axis=dim, keepdims=True))
    ss = ops.sum(ops.multiply(centred, centred), axis=dim, keepdims=keepdim)
    return ops.divide(ss, float(_count(input.shape, dim) - correction))


def std(input, dim=None, *, correction=1, keepdim=False, unbiased=None, axis=None, keepdims=None):
    """√var; where var = 0 the gradient is taken as 0 (PyTorch's rule), not ∞·0 = NaN."""
    v = var(input, dim, correction=correction, keepdim=keepdim, unbiased=unbiased, axis=axis,
            keepdims=keepdims)
    zero = v._data == 0
    if not zero.any():
        return ops.sqrt(v)
    return ops.where(zero, 0.0, ops.sqrt(ops.where(zero, 1.0, v)))


def var_mean(input, dim=None, *, correction=1, keepdim=False):
    return (var(input, dim, correction=correction, keepdim=keepdim),
            mean(input, dim, keepdim=keepdim))


def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log Σ e^x over ``dim``, computed stably."""
    return ops.logsumexp(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def prod(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Π over ``dim``."""
    return ops.prod(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return ops.argmax(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return ops.argmin(input, axis=dim_arg(dim, axis), keepdims=keep_arg(keepdim, keepdims))


def all(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._wrap(np.asarray(np.all(input._data, axis=dim, keepdims=keepdim)), False, None)


def any(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._wrap(np.asarray(np.any(input._data, axis=dim, keepdims=keepdim)), False, None)
