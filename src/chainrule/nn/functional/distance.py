"""Distances and similarities along a dimension: cosine_similarity, pairwise_distance,
normalize (PyTorch's eps rules), composed from existing ops (``vector_norm`` has a zero-safe
gradient at the origin)."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...api.math import vector_norm
from ...tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "normalize"]


def _floats(op: str, *xs) -> None:
    for i, x in enumerate(xs, 1):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: x{i} must be a Tensor, got {type(x).__name__}")
        if x.dtype.kind != "f":
            raise TypeError(f"{op}: x{i} must be floating point, got {x.dtype}")


def _broadcast(op: str, x1: Tensor, x2: Tensor) -> tuple:
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not "
                         "broadcast") from None
    return ops.broadcast_to(x1, shape), ops.broadcast_to(x2, shape), shape


def _floor(n: Tensor, eps: float) -> Tensor:
    """max(n, eps) as a value, with the gradient of n itself (PyTorch clamps the norm in place
    outside autograd)."""
    lifted = np.maximum(n._data, eps) - n._data
    return ops.add(n, Tensor._wrap(lifted.astype(n.dtype), False, None))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """s = Σ (x₁/max(‖x₁‖, ε))·(x₂/max(‖x₂‖, ε)) along ``dim`` (each norm floored separately)."""
    _floats("cosine_similarity", x1, x2)
    x1, x2, shape = _broadcast("cosine_similarity", x1, x2)
    if not -len(shape) <= dim < max(len(shape), 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for shape {shape}")
    if len(shape) == 0:
        x1, x2, dim = ops.reshape(x1, (1,)), ops.reshape(x2, (1,)), 0
    n1 = _floor(vector_norm(x1, 2, dim, True), eps)
    n2 = _floor(vector_norm(x2, 2, dim, True), eps)
    out = ops.sum(ops.multiply(ops.divide(x1, n1), ops.divide(x2, n2)), axis=dim)
    return ops.reshape(out, ()) if len(shape) == 0 else out


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """d = ‖x₁ − x₂ + ε‖_p over the last dimension."""
    _floats("pairwise_distance", x1, x2)
    d = ops.add(ops.subtract(x1, x2), eps)
    if d.ndim == 0:
        return vector_norm(d, p, None, False)
    return vector_norm(d, p, -1, keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """y = x / max(‖x‖_p, ε) along ``dim``."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported in chainrule")
    _floats("normalize", input)
    if input.ndim and not -input.ndim <= dim < input.ndim:
        raise IndexError(f"normalize: dim {dim} is out of range for shape {tuple(input.shape)}")
    n = vector_norm(input, p, dim if input.ndim else None, True)
    return ops.divide(input, ops.clip(n, eps, None))
