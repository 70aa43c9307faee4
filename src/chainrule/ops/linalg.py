"""Matrix multiplication, with NumPy's 1-D and batched rules.

For Z = X·Y:  ∂L/∂X = ∂L/∂Z · Yᵀ  and  ∂L/∂Y = Xᵀ · ∂L/∂Z (batch dimensions broadcast and are
summed back by the engine). A 1-D operand is treated as a row (left) or column (right) vector.
"""
from __future__ import annotations

from .._blas.gemm import matmul as _gemm
from .._blas.threads import blas_threads_for
from ..autograd.function import Function
from ..tensor import Tensor
from . import _operands as O


class MatMul(Function):
    """Z = X @ Y;  ∂L/∂X = G·Yᵀ, ∂L/∂Y = Xᵀ·G."""

    def forward(self, xp, x, y):
        self.saved = (x, y)
        _threads_for(x, y)
        return _gemm(xp, x, y)

    def explain_error(self, arrays, params, exc):
        x, y = arrays
        xs, ys = tuple(x.shape), tuple(y.shape)
        if x.ndim == 0 or y.ndim == 0:
            return f"matmul: both operands need at least one dimension, got {xs} @ {ys}"
        kx, ky = xs[-1], (ys[0] if y.ndim == 1 else ys[-2])
        if kx != ky:
            return f"matmul: {xs} @ {ys}: inner dimensions {kx} and {ky} differ"
        return f"matmul: {xs} @ {ys}: batch dimensions do not broadcast ({exc})"

    def backward(self, xp, g):
        x, y = self.saved
        nx, ny = self.needs_input_grad
        _threads_for(x, y)  # the backward products have the forward's m·n·k
        if x.ndim == 1 and y.ndim == 1:  # dot product
            return (g * y if nx else None), (g * x if ny else None)
        if x.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
            g2 = xp.expand_dims(g, -2)                      # (..., 1, m)
            gx = xp.matmul(g2, xp.swapaxes(y, -1, -2))[..., 0, :] if nx else None
            gy = xp.matmul(xp.expand_dims(x, -1), g2) if ny else None
            return gx, gy
        if y.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
            g2 = xp.expand_dims(g, -1)                      # (..., n, 1)
            gx = xp.matmul(g2, xp.expand_dims(y, -2)) if nx else None
            gy = xp.matmul(xp.swapaxes(x, -1, -2), g2)[..., 0] if ny else None
            return gx, gy
        gx = _gemm(xp, g, xp.swapaxes(y, -1, -2)) if nx else None
        gy = _gemm(xp, xp.swapaxes(x, -1, -2), g) if ny else None
        return gx, gy


def _threads_for(x, y) -> None:
    """BLAS threads for one (m×k)·(k×n) product of x @ y (a 1-D operand: m or n is 1)."""
    if x.ndim == 2 and y.ndim == 2:
        blas_threads_for(x.shape[0], y.shape[1], x.shape[1])
    elif x.ndim and y.ndim:
        blas_threads_for(x.shape[-2] if x.ndim > 1 else 1, y.shape[-1] if y.ndim > 1 else 1,
                         x.shape[-1])


def matmul(x, y):
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError("matmul: at least one operand must be a Tensor")
    return MatMul._apply2(*O.binary(x, y, "matmul"))
