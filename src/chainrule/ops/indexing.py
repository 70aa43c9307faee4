"""Indexing primitives: x[index] and take_along_axis, with their scatter-add adjoints.

The adjoint of reading elements is adding gradients back where they were read: for advanced
indices that repeat an element, the contributions add up (``np.add.at``), never overwrite. Each
scatter is itself a primitive whose backward is the read again, so second derivatives work too.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer))
               and not isinstance(p, bool) for p in parts)


def raw_index(index):
    """Replace Tensors in an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _scatter_raw(xp, g, shape, index, basic):
    out = xp.zeros(shape, dtype=g.dtype)
    if basic:
        out[index] = g
    else:
        xp.add.at(out, index, g)
    return out


class GetItem(Function):
    """z = x[index];  ∂L/∂x = zeros with ∂L/∂z added at the indexed places."""

    def forward(self, xp, x, index=None):
        self.in_shape, self.index, self.basic = x.shape, index, _is_basic(index)
        return x[index]

    def explain_error(self, arrays, params, exc):
        return f"getitem: index {params['index']!r} is invalid for shape {tuple(arrays[0].shape)}: {exc}"

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (IndexScatter.apply(g, shape=self.in_shape, index=self.index, basic=self.basic),)
        return (_scatter_raw(xp, g, self.in_shape, self.index, self.basic),)


class IndexScatter(Function):
    """z = zeros(shape) with x added at ``index``;  ∂L/∂x = (∂L/∂z)[index]."""

    def forward(self, xp, x, shape=None, index=None, basic=False):
        self.index = index
        return _scatter_raw(xp, x, shape, index, basic)

    def backward(self, xp, g):
        return (g[self.index],)


def _along_index(idx, axis: int):
    """A full advanced index that addresses ``a[..., idx, ...]`` along ``axis`` elementwise."""
    grids = np.ogrid[tuple(slice(n) for n in idx.shape)]
    grids = list(grids)
    grids[axis] = idx
    return tuple(grids)


class TakeAlongAxis(Function):
    """z = take_along_axis(x, idx, axis);  ∂L/∂x scatter-adds ∂L/∂z back at idx."""

    def forward(self, xp, x, idx=None, axis=0):
        axis = axis % x.ndim
        self.in_shape = x.shape
        others = lambda s: tuple(1 if i == axis else n for i, n in enumerate(s))  # noqa: E731
        shape = list(np.broadcast_shapes(others(x.shape), others(idx.shape)))
        shape[axis] = idx.shape[axis]
        self.full_index = _along_index(np.broadcast_to(idx, shape), axis)
        return x[self.full_index]

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (IndexScatter.apply(g, shape=self.in_shape, index=self.full_index, basic=False),)
        return (_scatter_raw(xp, g, self.in_shape, self.full_index, False),)


def getitem(x, index):
    return GetItem.apply(x, index=raw_index(index))


def take_along_axis(x, idx, axis: int):
    idx = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices have {idx.ndim} dimensions but the tensor has "
                         f"{x.ndim}")
    return TakeAlongAxis.apply(x, idx=idx.astype(np.intp, copy=False), axis=axis)


def index_scatter(g, shape, index, basic=False):
    return IndexScatter.apply(g, shape=shape, index=index, basic=basic)
