"""Dropout with PyTorch's signature and inverted scaling.

In training, z = x · m / (1 − p) with m ~ Bernoulli(1 − p) drawn from the library's one seeded
generator (:func:`chainrule.backend.default_generator`), so E[z] = x and a seeded run repeats its
masks — inside ``fit``, from the training step's generator, for the whole global batch
(:mod:`chainrule.data.batch_rng`), so the masks do not depend on the number of ranks;
∂z/∂x = m / (1 − p). Outside training (or with p = 0) dropout is the identity.
"""
from __future__ import annotations

import numpy as np

from ... import backend, ops
from ...data import batch_rng
from ...tensor import Tensor

__all__ = ["dropout"]


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the survivors by 1/(1 − p)
    (``inplace=True`` multiplies ``input`` itself and returns it, as PyTorch)."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating-point input, got {np.dtype(input.dtype).name}")
    if not training or p == 0:
        return input
    dtype = input.dtype
    if p == 1:
        mask = backend.get_array_module(input._data).zeros(input.shape, dtype=dtype)
        return _apply(input, mask, inplace)
    udtype = np.float32 if dtype != np.float64 else np.float64
    batch = batch_rng.current()   # inside fit: drawn per global sample (any number of ranks)
    u = None
    if batch is not None and type(input._data) is np.ndarray:   # CPU: the rank-free masks
        u = batch.uniform(input.shape, udtype)
    if u is None:
        # drawn on the input's device (a CUDA input: by the GPU's generator, no host copy)
        u = backend.random_like(input._data, "random", input.shape, udtype)
    mask = (u >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return _apply(input, mask, inplace)


def _apply(input, mask, inplace):
    if inplace:    # into input itself, as PyTorch (recorded in the graph for a non-leaf)
        return input.mul_(mask)
    return ops.multiply(input, mask)
