"""Reductions with PyTorch's names and signatures (``dim``, ``keepdim``, ``correction``)."""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .. import backend, ops
from ..ops.reduction import check_nonempty
from ..tensor import Tensor
from ._args import dim_arg, keep_arg, normalize_dim, reduce_axes

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "var_mean", "std_mean",
           "logsumexp", "argmax", "argmin", "prod", "all", "any"]


class ValuesIndices(NamedTuple):
    """What ``max(dim)``/``min(dim)`` return, as PyTorch's ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor

    def __repr__(self) -> str:
        return (f"chainrule.return_types.{getattr(self, '_op', 'ValuesIndices')}(\n"
                f"values={self.values!r},\nindices={self.indices!r})")


_RETURN_TYPES: dict = {}


def return_type(op: str) -> type:
    """The (values, indices) tuple type of ``op``, printing as torch's ``return_types.<op>``."""
    cls = _RETURN_TYPES.get(op)
    if cls is None:
        cls = _RETURN_TYPES[op] = type(op, (ValuesIndices,), {"__slots__": (), "_op": op})
    return cls


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Σ over ``dim`` (all elements when None)."""
    return ops.sum(input, axis=reduce_axes(dim_arg(dim, axis), input.ndim, "sum"),
                   keepdims=keep_arg(keepdim, keepdims), dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """(1/n) Σ over ``dim``."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    return ops.mean(input, axis=reduce_axes(dim_arg(dim, axis), input.ndim, "mean"),
                    keepdims=keep_arg(keepdim, keepdims))


def _extreme(input, dim, keepdim, largest: bool):
    op = "max" if largest else "min"
    if dim is None:  # whole tensor: the gradient is shared among ties, as PyTorch does
        if keepdim:
            raise TypeError(f"{op}(): keepdim needs a dim (use amax/amin to keep all dims)")
        return ops.amax(input) if largest else ops.amin(input)
    if isinstance(dim, tuple):
        raise TypeError(f"{op}: with indices takes a single dim; use amax/amin for several")
    dim = normalize_dim(dim, input.ndim, op)
    if input.ndim == 0:  # the one element is its own extreme, at index 0
        return return_type(op)(ops.reshape(input, ()), Tensor._wrap(np.zeros((), np.int64), False,
                                                                  None))
    check_nonempty(op, input.shape, dim)
    idx = (np.argmax if largest else np.argmin)(input._data, axis=dim)
    idx = np.expand_dims(idx, dim)
    values = ops.take_along_axis(input, idx, dim)
    indices = Tensor._wrap(idx.astype(np.int64), False, None)
    if not keepdim:
        values = ops.squeeze(values, dim)
        indices = Tensor._wrap(np.squeeze(indices._data, dim), False, None)
    return return_type(op)(values, indices)


def max(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001
    """The largest element, or with ``dim`` the (values, indices) of the largest along it.
    ``max(a, b)`` (or ``other=b``) with a tensor b is the elementwise maximum."""
    if other is not None:
        return ops.maximum(input, other)
    if isinstance(dim, Tensor):
        return ops.maximum(input, dim)
    return _extreme(input, dim_arg(dim, axis), keep_arg(keepdim, keepdims), True)


def min(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001
    """The smallest element, or with ``dim`` the (values, indices) of the smallest along it;
    ``min(a, b)`` (or ``other=b``) with a tensor b is the elementwise minimum."""
    if other is not None:
        return ops.minimum(input, other)
    if isinstance(dim, Tensor):
        return ops.minimum(input, dim)
    return _extreme(input, dim_arg(dim, axis), keep_arg(keepdim, keepdims), False)


def amax(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Largest values over ``dim``; ties share the gradient equally."""
    return ops.amax(input, axis=reduce_axes(dim_arg(dim, axis), input.ndim, "amax"),
                    keepdims=keep_arg(keepdim, keepdims))


def amin(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Smallest values over ``dim``; ties share the gradient equally."""
    return ops.amin(input, axis=reduce_axes(dim_arg(dim, axis), input.ndim, "amin"),
                    keepdims=keep_arg(keepdim, keepdims))


def _count(shape, axes) -> int:
    return int(np.prod(shape)) if axes is None else int(np.prod([shape[a] for a in axes]))


def _var_args(op: str, input, dim, unbiased, keepdim, correction, axis, keepdims):
    """PyTorch's three forms, ``(dim=None, *, correction=1, keepdim=False)``,
    ``(dim, unbiased, keepdim=False)`` and ``(unbiased)``, as (axes, correction, keepdim): a bool
    where the dim goes is ``unbiased``; correction=None means the default, 1."""
    if isinstance(dim, bool):
        if unbiased is not None or keepdim or keepdims is not None:
            raise TypeError(f"{op}(input, unbiased) takes no more arguments (a bool where dim "
                            f"goes is unbiased)")
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{op}(): pass either unbiased or correction, not both")
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(f"{op}(): argument 'unbiased' must be bool, not "
                            f"{type(unbiased).__name__}")
        correction = 1 if unbiased else 0
    elif correction is None:
        correction = 1
    axes = reduce_axes(dim_arg(dim, axis), input.ndim, op)
    return axes, correction, keep_arg(keepdim, keepdims)


def _var(input, axes, correction, keepdim):
    centred = ops.subtract(input, ops.mean(input, axis=axes, keepdims=True))
    ss = ops.sum(ops.multiply(centred, centred), axis=axes, keepdims=keepdim)
    # PyTorch divides by max(n − correction, 0): too few degrees of freedom give inf or NaN,
    # never a negative "variance"
    dof = _count(input.shape, axes) - correction
    if dof > 0:
        return ops.divide(ss, float(dof))
    warnings.warn("var: degrees of freedom n - correction <= 0; the result is inf or NaN (as "
                  "in PyTorch)", RuntimeWarning, stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ops.divide(ss, 0.0)


def _sqrt0(v):
    """√v, with the gradient taken as 0 where v = 0 (PyTorch's rule for std), not ∞·0 = NaN."""
    zero = v._data == 0
    if not zero.any():
        return ops.sqrt(v)
    return ops.where(zero, 0.0, ops.sqrt(ops.where(zero, 1.0, v)))


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis=None, keepdims=None) -> Tensor:
    """Σ(x − x̄)² / (n − correction): correction=1 is the sample variance, 0 the population's.
    PyTorch's older forms work too: ``var(x, unbiased)`` and ``var(x, dim, unbiased, keepdim)``."""
    return _var(input, *_var_args("var", input, dim, unbiased, keepdim, correction, axis,
                                  keepdims))


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis=None, keepdims=None) -> Tensor:
    """√var; where var = 0 the gradient is taken as 0 (PyTorch's rule), not ∞·0 = NaN."""
    return _sqrt0(_var(input, *_var_args("std", input, dim, unbiased, keepdim, correction,
                                         axis, keepdims)))


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
             *, correction: float | None = None, axis=None, keepdims=None
             ) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``dim``, with var's signatures."""
    axes, correction, keepdim = _var_args("var_mean", input, dim, unbiased, keepdim, correction,
                                          axis, keepdims)
    return _var(input, axes, correction, keepdim), ops.mean(input, axis=axes, keepdims=keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False,
             *, correction: float | None = None, axis=None, keepdims=None
             ) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``dim``, with std's signatures."""
    axes, correction, keepdim = _var_args("std_mean", input, dim, unbiased, keepdim, correction,
                                          axis, keepdims)
    return (_sqrt0(_var(input, axes, correction, keepdim)),
            ops.mean(input, axis=axes, keepdims=keepdim))


def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log Σ e^x over ``dim``, computed stably."""
    return ops.logsumexp(input, axis=reduce_axes(dim_arg(dim, axis), input.ndim, "logsumexp"),
                    keepdims=keep_arg(keepdim, keepdims))


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Π over ``dim`` (in ``dtype`` when given: the input is cast first, as PyTorch does)."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    dim = dim_arg(dim, axis)
    if dim is not None:
        if isinstance(dim, tuple):
            raise TypeError("prod(): argument 'dim' must be int, not tuple")
        dim = normalize_dim(dim, input.ndim, "prod")
        if input.ndim == 0:
            dim = None
    return ops.prod(input, axis=dim, keepdims=keep_arg(keepdim, keepdims))


def _arg_extreme(op: str, input, dim, keepdim, keepdims, axis):
    dim = dim_arg(dim, axis)
    if dim is not None:
        if isinstance(dim, tuple):
            raise TypeError(f"{op}(): argument 'dim' must be int, not tuple")
        dim = normalize_dim(dim, input.ndim, op)
        if input.ndim == 0:
            dim = None
    fn = ops.argmax if op == "argmax" else ops.argmin
    return fn(input, axis=dim, keepdims=keep_arg(keepdim, keepdims))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis=None,
           keepdims=None) -> Tensor:
    """The int64 index of the largest entry along ``dim`` (of the flattened tensor when None)."""
    return _arg_extreme("argmax", input, dim, keepdim, keepdims, axis)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis=None,
           keepdims=None) -> Tensor:
    """The int64 index of the smallest entry along ``dim`` (of the flattened tensor when None)."""
    return _arg_extreme("argmin", input, dim, keepdim, keepdims, axis)


def _logical(op: str, input, dim, keepdim):
    axes = reduce_axes(dim_arg(dim, None), input.ndim, op)
    fn = np.all if op == "all" else np.any
    return Tensor._wrap(backend.as_result(fn(input._data, axis=axes, keepdims=keepdim)), False,
                        None)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every entry along ``dim`` is non-zero."""
    return _logical("all", input, dim, keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some entry along ``dim`` is non-zero."""
    return _logical("any", input, dim, keepdim)
