"""Shape and math functions with PyTorch's names: tile/repeat, flip, roll, cumsum, norm, einsum,
topk, sort/argsort.

norm is a composition: p=2 is √Σx² (its gradient x/‖x‖ taken as 0 where ‖x‖ = 0, as PyTorch
does), p=1 is Σ|x|, p=∞ is max|x| (ties share the gradient), any other p is (Σ|x|ᵖ)^(1/p).
topk's values are x read at the chosen indices, so their gradient flows back to those places.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, ops
from ..ops.elementwise import fresh
from ..tensor import Tensor
from ._args import (dim_arg, dims_arg, int_arg, normalize_dim, normalize_dims, reduce_axes,
                    size_arg)
from .reductions import ValuesIndices, return_type

__all__ = ["tile", "flip", "roll", "cumsum", "norm", "einsum", "topk", "sort", "argsort"]


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tensor.repeat: ``input`` repeated sizes[i] times along dimension i (len(sizes) may exceed
    input.ndim, adding leading dimensions)."""
    sizes = size_arg(sizes)
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(sizes)}) can not be smaller than "
                         f"the number of dimensions of the tensor ({input.ndim})")
    return ops.tile(input, sizes)


def tile(input: Tensor, dims) -> Tensor:
    """``input`` repeated dims[i] times along dimension i; dims shorter than input.ndim is
    padded with leading 1s."""
    return ops.tile(input, size_arg((dims,)) if not isinstance(dims, int) else (dims,))


def _tile_method(self, *dims_, dims=None):
    return tile(self, size_arg(dims_) if dims is None else dims)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    dims = normalize_dims(dims, input.ndim, "flip")
    if input.ndim == 0 or not dims:
        return fresh(input)         # a copy, as PyTorch's: never a view of the input
    return ops.flip(input, dims)


def _flip_method(self, *dims, **kw):
    """Tensor.flip(0, 1), .flip((0, 1)) or .flip(dims=[0, 1])."""
    if kw:
        if dims or set(kw) != {"dims"}:
            raise TypeError(f"flip(): pass the dims either positionally or as dims=, got "
                            f"{dims!r} and {kw!r}")
        return flip(self, kw["dims"])
    return flip(self, dims_arg(dims))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (over the flattened tensor when
    dims is None)."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            if len(shifts) != 1:
                raise ValueError(f"roll: with dims=None, shifts must be a single int, got "
                                 f"{shifts!r}")
            shifts = shifts[0]
        return ops.roll(input, int(shifts), None)
    dims = normalize_dims(dims, input.ndim, "roll", wrap_scalar=False, allow_repeats=True)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align, got {len(shifts)} shifts "
                           f"and {len(dims)} dims")
    return ops.roll(input, shifts, dims)


def cumsum(input: Tensor, dim: int | None = None, *, dtype=None, axis=None) -> Tensor:
    """zᵢ = Σ_{j≤i} xⱼ along ``dim`` (integers accumulate in int64)."""
    dim = dim_arg(dim, axis)
    if dim is None:
        raise TypeError("cumsum() missing the required argument 'dim'")
    dim = normalize_dim(dim, input.ndim, "cumsum")
    if input.ndim == 0:
        return ops.reshape(ops.cumsum(ops.reshape(input, (1,)), axis=0, dtype=dtype), ())
    return ops.cumsum(input, axis=dim, dtype=dtype)


def _norm2(input, axes, keepdim):
    ss = ops.sum(ops.multiply(input, input), axis=axes, keepdims=keepdim)
    zero = ss._data == 0
    if not np.any(zero):
        return ops.sqrt(ss)
    return ops.where(zero, 0.0, ops.sqrt(ops.where(zero, 1.0, ss)))


def vector_norm(input: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """‖x‖_ord over ``dim`` (all elements when None): (Σ|x|^ord)^(1/ord), max|x| for ord=inf,
    min|x| for ord=−inf, the count of non-zeros for ord=0 (as torch.linalg.vector_norm)."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    if input.dtype.kind != "f":
        raise TypeError(f"norm: expected a floating-point input, got {np.dtype(input.dtype).name}")
    axes = reduce_axes(dim_arg(dim, None), input.ndim, "norm")
    try:
        p = float(ord)
    except (TypeError, ValueError):
        raise ValueError(f"norm: ord must be a number, got {ord!r}") from None
    if p == 2:
        return _norm2(input, axes, keepdim)
    if p == 1:
        return ops.sum(ops.absolute(input), axis=axes, keepdims=keepdim)
    if math.isinf(p):
        reduce = ops.amax if p > 0 else ops.amin
        return reduce(ops.absolute(input), axis=axes, keepdims=keepdim)
    if p == 0:
        count = np.sum(input._data != 0, axis=axes, keepdims=keepdim).astype(input.dtype)
        return Tensor._wrap(backend.as_result(count), False, None)
    s = ops.sum(ops.power(ops.absolute(input), p), axis=axes, keepdims=keepdim)
    return ops.power(s, 1.0 / p)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None
         ) -> Tensor:
    """The vector p-norm over ``dim`` (all elements when None); 'fro' is the 2-norm. The fifth
    place is PyTorch's ``out`` (not supported), so a positional dtype is never misread."""
    if out is not None:
        raise TypeError("norm: out= is not supported; use the returned tensor")
    if isinstance(p, str):
        if p == "nuc":
            return nuclear_norm(input, dim, keepdim, dtype=dtype)
        if p != "fro":
            raise NotImplementedError(f"norm: p={p!r} is not supported (use 'fro', 'nuc' "
                                      f"or a number)")
        p = 2
    if p is None:
        p = 2
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Σ of the singular values of the matrix in dims ``dim`` (a 2-tuple; a 2-D input's own
    when None); gradient U·Vᵀ from the SVD (first derivatives only)."""
    if dtype is not None:
        input = ops.cast(input, dtype)
    if dim is None:
        if input.ndim != 2:
            raise RuntimeError(f"norm(p='nuc'): dim must be a 2-tuple for an input of "
                               f"{input.ndim} dims (shape {tuple(input.shape)})")
        dim = (0, 1)
    if isinstance(dim, (int, np.integer)) or len(dim) != 2:
        raise RuntimeError(f"norm(p='nuc'): dim must be a 2-tuple, got {dim!r}")
    dims = normalize_dims(dim, input.ndim, "norm")
    rest = [d for d in range(input.ndim) if d not in dims]
    moved = ops.transpose(input, tuple(rest) + dims) if rest or dims != (0, 1) else input
    out = ops.nuclear_norm(moved)
    if keepdim:
        shape = list(input.shape)
        for d in dims:
            shape[d] = 1
        out = ops.reshape(out, tuple(shape))
    return out


def _norm_method(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Tensor.norm: PyTorch's method has no ``out``, so its fourth place is ``dtype``."""
    return norm(self, p, dim, keepdim, dtype=dtype)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. einsum('bij,bjk->bik', a, b); operands may also be one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return ops.einsum(equation, *operands)


def _comparable(a: np.ndarray) -> np.ndarray:
    """Integers (and bools) as int64, so negating them for a descending order cannot wrap
    (−(−128) is −128 in int8)."""
    return a.astype(np.int64) if a.dtype.kind in "biu" else a


def _order(a: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """The stable argsort along ``dim``, NaN ranking above every number (PyTorch's rule): last
    when ascending, first when descending; equal entries keep their order."""
    a = _comparable(a)
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    if type(a) is not np.ndarray and a.dtype.kind == "f":   # on the device: no NaN test
        xp = backend.get_array_module(a)                         # (a host read); two stable
        nan = xp.isnan(a)                                         # passes, as lexsort's keys
        first = xp.argsort(xp.where(nan, 0, -a), axis=dim, kind="stable")
        then = xp.argsort(~xp.take_along_axis(nan, first, axis=dim), axis=dim, kind="stable")
        return xp.take_along_axis(first, then, axis=dim)
    if a.dtype.kind == "f" and np.isnan(a).any():
        return np.lexsort((-a, ~np.isnan(a)), axis=dim)
    return np.argsort(-a, axis=dim, kind="stable")


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False
         ) -> ValuesIndices:
    """(values, int64 indices) of ``input`` sorted along ``dim``; the sort is always stable,
    and the values' gradient flows back to where each was read."""
    return _sort("sort", input, dim, descending)


def _sort(op: str, input: Tensor, dim, descending) -> ValuesIndices:
    d = normalize_dim(dim, input.ndim, op)
    if input.ndim == 0:
        zero = backend.get_array_module(input._data).zeros((), np.int64)
        return return_type(op)(ops.reshape(input, ()), Tensor._wrap(zero, False, None))
    idx = _order(input._data, d, bool(descending))
    return return_type(op)(ops.take_along_axis(input, idx, d),
                         Tensor._wrap(idx.astype(np.int64), False, None))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False
            ) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (stable); not differentiable."""
    return _sort("argsort", input, dim, descending).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
         ) -> ValuesIndices:  # noqa: A002 - PyTorch's name
    """The k largest (or smallest) entries along ``dim`` and their int64 indices, in order."""
    dim = normalize_dim(dim, input.ndim, "topk")
    k = int_arg(k, "topk", "k")
    if input.ndim == 0:
        values, indices = topk(ops.reshape(input, (1,)), k, 0, largest, sorted)
        return return_type("topk")(ops.reshape(values, ()),
                                   Tensor._wrap(backend.as_result(indices._data[0]), False, None))
    n = input.shape[dim]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k!r}) is out of range for dimension {dim} of size {n}")
    a = _comparable(input._data)
    if type(a) is not np.ndarray:     # on the device: a full stable sort, its first k
        idx = _order(a, dim, largest)[(slice(None),) * dim + (slice(0, k),)]
        return ValuesIndices(ops.take_along_axis(input, idx, dim),
                             Tensor._wrap(idx.astype(np.int64), False, None))
    if a.dtype.kind == "f" and np.isnan(a).any():  # NaN ranks above everything, as in PyTorch
        idx = np.take(_order(a, dim, largest), np.arange(k), axis=dim)
        return return_type("topk")(ops.take_along_axis(input, idx, dim),
                             Tensor._wrap(idx.astype(np.int64), False, None))
    key = -a if largest else a
    if 0 < k < n // 4:  # partial selection first, then sort only the k chosen
        part = np.argpartition(key, k - 1, axis=dim)
        part = np.take(part, np.arange(k), axis=dim)
        order = np.argsort(np.take_along_axis(key, part, axis=dim), axis=dim, kind="stable")
        idx = np.take_along_axis(part, order, axis=dim)
    else:
        idx = np.take(np.argsort(key, axis=dim, kind="stable"), np.arange(k), axis=dim)
    values = ops.take_along_axis(input, idx, dim)
    return return_type("topk")(values, Tensor._wrap(idx.astype(np.int64), False, None))
