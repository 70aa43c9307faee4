"""Flatten parameters into one vector and back (for line searches, second-order methods, …)."""
from __future__ import annotations

from typing import Iterable

from ... import ops
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated, in order (differentiable)."""
    flat = [ops.reshape(p, (-1,)) for p in parameters]
    if not flat:
        raise ValueError("parameters_to_vector: no parameters given")
    return ops.concatenate(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = list(parameters)
    need = sum(p.numel() for p in params)
    if need != vec.numel():
        raise ValueError(f"vector_to_parameters: vec has {vec.numel()} elements but the "
                         f"parameters hold {need}")
    start = 0
    for p in params:
        n = p.numel()
        p._data[...] = vec._data[start:start + n].reshape(p.shape)
        p._bump_version()
        start += n
