"""Matrix and vector products with PyTorch's names: addmm, dot, mv, outer (and ger).

All are compositions of matmul, multiply and add, so their gradients are matmul's:
for Z = βI + α·A·B, ∂L/∂I = β·G, ∂L/∂A = α·G·Bᵀ, ∂L/∂B = α·Aᵀ·G.
PyTorch refuses mixed dtypes in addmm, dot and mv (outer promotes), and so does chainrule.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor

__all__ = ["addmm", "dot", "vdot", "mv", "outer", "ger"]


def _tensor(x, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    return x


def _same_dtype(op: str, *tensors: Tensor) -> None:
    dts = [t.dtype for t in tensors]
    if any(d != dts[0] for d in dts):
        raise RuntimeError(f"{op}: expected all tensors to have the same dtype, got "
                           f"{', '.join(str(d) for d in dts)}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """β·input + α·(mat1 @ mat2), input broadcasting to (n, m); with β = 0 input is ignored
    (NaN and inf in it do not propagate, as in PyTorch)."""
    for t, name in ((input, "input"), (mat1, "mat1"), (mat2, "mat2")):
        _tensor(t, "addmm", name)
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: mat1 and mat2 must be matrices, got shapes "
                           f"{tuple(mat1.shape)} and {tuple(mat2.shape)}")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _same_dtype("addmm", input, mat1, mat2)
    if input.dtype == np.bool_:
        raise NotImplementedError("addmm: not implemented for bool tensors; cast them first")
    if input.dtype.kind in "iu":        # PyTorch casts β and α to the integer dtype (truncates)
        beta, alpha = int(beta), int(alpha)
    out_shape = (mat1.shape[0], mat2.shape[1])
    try:
        ok = tuple(np.broadcast_shapes(tuple(input.shape), out_shape)) == out_shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"addmm: input of shape {tuple(input.shape)} does not broadcast to "
                           f"the product's shape {out_shape}")
    prod = ops.matmul(mat1, mat2)
    if alpha != 1:
        prod = ops.multiply(prod, alpha)
    if beta == 0:   # input ignored, NaN included; its gradient is zero (PyTorch's), not None
        if not input.requires_grad:
            return prod
        return ops.add(ops.where(np.ones((), bool), np.zeros((), input.dtype), input), prod)
    return ops.add(input if beta == 1 else ops.multiply(input, beta), prod)


def dot(input: Tensor, tensor: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    """Σᵢ xᵢ·yᵢ of two 1-D tensors of one size and dtype."""
    _tensor(input, "dot", "input")
    _tensor(tensor, "dot", "tensor")
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and "
                           f"{tensor.ndim}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{input.shape[0]}] "
                           f"and src [{tensor.shape[0]}] to have the same number of elements")
    _same_dtype("dot", input, tensor)
    if input.dtype == np.bool_:
        raise NotImplementedError("dot: not implemented for bool tensors (PyTorch has no bool "
                                  "dot); cast them first, e.g. .long() or .float()")
    return ops.matmul(input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Σᵢ xᵢyᵢ of two 1-D tensors (real tensors only: no conjugation to do)."""
    return dot(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The matrix–vector product (n, m) @ (m,) -> (n,)."""
    _tensor(input, "mv", "input")
    _tensor(vec, "mv", "vec")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes "
                           f"{tuple(input.shape)} and {tuple(vec.shape)}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"mv: size mismatch, got input ({input.shape[0]}x{input.shape[1]}) "
                           f"and vec ({vec.shape[0]})")
    _same_dtype("mv", input, vec)
    return ops.matmul(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """zᵢⱼ = xᵢ·yⱼ of two 1-D tensors (dtypes promote, as in PyTorch)."""
    _tensor(input, "outer", "input")
    _tensor(vec2, "outer", "vec2")
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: 1D tensors expected, but got {input.ndim}D and "
                           f"{vec2.ndim}D tensors")
    return ops.multiply(ops.reshape(input, (-1, 1)), ops.reshape(vec2, (1, -1)))


ger = outer
