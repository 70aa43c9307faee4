"""Writing values at positions along an axis (PyTorch's ``scatter``), the adjoint pair of gather.

The forward overwrites; so the gradient of the input is ∂L/∂z with the overwritten places set to
zero, and the gradient of the source is ∂L/∂z read back at the index (for every source element,
also where a repeated index let a later one win: PyTorch's rule).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .indexing import _int_index, gather_index, getitem


class Scatter(Function):
    """z = x with src written at ``index`` (z[i][idx[i][j][k]][k] = src[i][j][k] for axis 1);
    ∂L/∂x = ∂L/∂z off the written places (0 on them), ∂L/∂src = (∂L/∂z)[index]."""

    def forward(self, xp, x, src, index=None):
        self.index = index
        written = xp.zeros(x.shape, dtype=bool)
        written[index] = True
        self.written = written
        out = x.copy()
        out[index] = src
        return out

    def backward(self, xp, g):
        nx, ns = self.needs_input_grad
        return (xp.where(self.written, 0, g) if nx else None,
                g[self.index] if ns else None)


def scatter(x, axis: int, idx, src):
    """x with ``src`` (a Tensor of x's dtype, at least index's shape, or a scalar) written at
    ``idx`` along ``axis``; ``axis`` is already in [0, ndim)."""
    idx = _int_index(idx, "scatter")
    tensor_src = isinstance(src, Tensor)
    if tensor_src:
        if src.dtype != x.dtype:
            raise TypeError(f"scatter(): expected self.dtype to be equal to src.dtype, got "
                            f"{np.dtype(x.dtype).name} and {np.dtype(src.dtype).name}")
        if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
            raise ValueError(f"scatter: index shape {tuple(idx.shape)} must not exceed src shape "
                             f"{tuple(src.shape)} in any dimension")
    if x.ndim == 0:     # one place: index 0 (if any) writes src there
        from .shape import reshape
        flat = scatter(reshape(x, (1,)), 0, idx.reshape(-1),
                       reshape(src, (-1,)) if tensor_src else src)
        return reshape(flat, ())
    index = gather_index(x.shape, idx, axis, "scatter")
    if tensor_src:
        if tuple(src.shape) != tuple(idx.shape):
            src = getitem(src, tuple(slice(n) for n in idx.shape))
    else:
        src = src.astype(x.dtype, copy=False) if backend.is_array(src) else \
            np.asarray(src, dtype=x.dtype)
    return Scatter.apply(x, src, index=index)
