"""Putting values at positions, with PyTorch's names: scatter, index_add, tril, triu.

scatter overwrites: ∂L/∂input is ∂L/∂z with the written places zeroed, ∂L/∂src is ∂L/∂z gathered
at ``index``. index_add adds: ∂L/∂input = ∂L/∂z, ∂L/∂source = α·(∂L/∂z) read at ``index`` along
``dim``. tril/triu keep a triangle: the gradient is ∂L/∂z masked by the same triangle.
"""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..ops.indexing import IndexScatter, _check_bounds, _int_index
from ..tensor import Tensor
from ._args import normalize_dim

__all__ = ["scatter", "index_add", "tril", "triu"]


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of input with src[i][j][k] written at [i][index[i][j][k]][k] for dim=1 (likewise
    for other dims); ``src`` may be a tensor (at least index's shape) or a number (``value``).
    Where index repeats a position, which write wins is unspecified (as in PyTorch)."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported; use scatter_add (sum) or "
                                  "scatter without reduce")
    if (src is None) == (value is None):
        raise TypeError("scatter(): pass exactly one of src (a tensor) or value (a number)")
    src = value if src is None else src
    if not isinstance(src, Tensor):
        if isinstance(src, (np.ndarray, list, tuple)):
            raise TypeError("scatter(): src must be a Tensor or a number, not "
                            f"{type(src).__name__}")
    return ops.scatter(input, normalize_dim(dim, input.ndim, "scatter"), index, src)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of input with α·source[..., i, ...] added at input[..., index[i], ...] along
    ``dim``; repeated indices add up."""
    d = normalize_dim(dim, input.ndim, "index_add")
    idx = _int_index(index, "index_add")
    if idx.ndim > 1:
        raise ValueError(f"index_add(): index must be a vector, got shape {tuple(idx.shape)}")
    idx = idx.reshape(-1)
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): argument 'source' must be a Tensor, not "
                        f"{type(source).__name__}")
    if source.dtype != input.dtype:
        raise TypeError(f"index_add(): self ({np.dtype(input.dtype).name}) and source ({np.dtype(source.dtype).name}) must "
                        f"have the same scalar type")
    if input.ndim == 0:                 # PyTorch: a 0-d source and one index (0) only
        if source.ndim != 0:
            raise RuntimeError(f"index_add(): source of shape {tuple(source.shape)} must have "
                               "the 0-d input's shape ()")
        if idx.size != 1:
            raise IndexError(f"index_add(): a 0-d input takes exactly one index, got "
                             f"{idx.size}")
        return ops.reshape(index_add(ops.reshape(input, (1,)), 0, idx,
                                     ops.reshape(source, (-1,)), alpha=alpha), ())
    want = input.shape[:d] + (idx.size,) + input.shape[d + 1:]
    src_shape = tuple(source.shape) if source.ndim else (1,)
    if src_shape != want:
        raise ValueError(f"index_add(): source of shape {tuple(source.shape)} must have shape "
                         f"{want} (input's, with {idx.size} = len(index) in dim {d})")
    _check_bounds(idx, input.shape[d], "index_add", d)
    if alpha != 1:
        source = ops.multiply(source, alpha)
    placed = IndexScatter.apply(ops.reshape(source, want), shape=tuple(input.shape),
                                index=(slice(None),) * d + (idx,), basic=False)
    return ops.add(input, placed)


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    n, m = input.shape[-2:]
    k = int(diagonal)
    xp = backend.get_array_module(input._data)
    keep = xp.tri(n, m, k, dtype=bool) if lower else ~xp.tri(n, m, k - 1, dtype=bool)
    return ops.where(keep, input, xp.zeros((), input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of each matrix (the last two dims): entries (i, j) with j − i ≤
    diagonal kept, the rest 0."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of each matrix (the last two dims): entries (i, j) with j − i ≥
    diagonal kept, the rest 0."""
    return _triangle("triu", input, diagonal, False)
