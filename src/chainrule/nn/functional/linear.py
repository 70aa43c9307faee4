"""linear: y = x·Wᵀ + b as one fused primitive (one GEMM forward, two backward)."""
from __future__ import annotations

import math

import numpy as np

from ..._blas.gemm import matmul as _gemm
from ..._blas.threads import blas_threads_for
from ...autograd.function import Function
from ...ops._operands import ones_constant
from ...tensor import Tensor

__all__ = ["linear"]


class Linear(Function):
    """y = x·Wᵀ + b for x (…, in), W (out, in), b (out,);
    ∂L/∂x = G·W,  ∂L/∂W = Gᵀ·x (summed over the leading axes),  ∂L/∂b = Σ G over the leading axes."""

    def forward(self, xp, x, w, b=None):
        self.save(x, w)
        blas_threads_for(x.size, w.shape[0], 1)  # m·k = x.size, n = out_features
        y = _gemm(xp, x, w.T) if x.ndim == 2 else xp.matmul(x, w.T)
        if b is not None:
            y += b
        return y

    def backward(self, xp, g):
        x, w = self.saved
        needs = self.needs_input_grad
        if not isinstance(g, Tensor):  # (a Tensor's products pass through MatMul's policy)
            blas_threads_for(x.size, w.shape[0], 1)  # all three products have forward's m·n·k
            if not g.flags.c_contiguous:
                g = xp.ascontiguousarray(g)  # e.g. broadcast by sum(): BLAS needs real strides
        gx = (_gemm(xp, g, w) if g.ndim == 2 else xp.matmul(g, w)) if needs[0] else None
        gw = gb = None
        g2 = _rows(g)
        if needs[1]:
            gw = _gemm(xp, g2.T, _rows(x))
        if len(needs) > 2 and needs[2]:
            if g.ndim == 1:
                gb = g
            elif isinstance(g, Tensor) or xp is not np:     # GPU: one reduction kernel
                gb = xp.sum(g2, axis=0)
            else:           # 1ᵀ·G: BLAS gemv, about twice as fast as NumPy's column sum
                gb = xp.matmul(ones_constant((g2.shape[0],), g2.dtype), g2)
        return (gx, gw, gb)[:len(needs)]

    def explain_error(self, arrays, params, exc):
        x, w = arrays[0], arrays[1]
        return (f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
                f"{tuple(w.shape)} ({exc})")


def _rows(a):
    """a (…, k) as a matrix (Π…, k); the sizes spelled out, since reshape(−1, k) cannot infer
    −1 for an empty array (0 features or an empty batch). The method: np.reshape() costs 2 µs
    more."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b (PyTorch's ``F.linear``): W is (out_features, in_features)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"linear: input must be a Tensor, got {type(input).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not end with "
                         f"in_features={weight.shape[1]} (weight shape {tuple(weight.shape)})")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got "
                         f"{tuple(bias.shape)}")
    if input.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {np.dtype(input.dtype).name} differs from weight dtype "
                        f"{np.dtype(weight.dtype).name}; cast one of them (e.g. model.double() or x.float())")
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)
