"""Indexing functions with PyTorch's names and signatures.

Reads (gather, index_select, take_along_dim) are advanced indexing, whose gradient scatter-adds
∂L/∂z back where each element was read, so repeated indices accumulate. scatter_add's gradient is
∂L/∂z for ``input`` and ∂L/∂z gathered at ``index`` for ``src``; masked_fill's is ∂L/∂z off the
mask (for ``input``) and its sum on the mask (for a tensor ``value``). one_hot is not
differentiable.
"""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..ops import _operands as O
from ..ops.indexing import _check_bounds, _int_index, wrap_negative
from ..tensor import Tensor
from ._args import normalize_dim

__all__ = ["gather", "scatter_add", "index_select", "masked_fill", "take_along_dim", "one_hot"]


def gather(input: Tensor, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim=1 (likewise for other dims)."""
    return ops.gather(input, normalize_dim(dim, input.ndim, "gather"), index)


def scatter_add(input: Tensor, dim: int, index, src) -> Tensor:
    """A copy of input with src[i][j][k] added at [i][index[i][j][k]][k] for dim=1; repeated
    indices add up."""
    if not isinstance(src, Tensor):
        src = O.constant(src, input.dtype)
    return ops.scatter_add(input, normalize_dim(dim, input.ndim, "scatter_add"), index, src)


def index_select(input: Tensor, dim: int, index) -> Tensor:
    """The entries of ``input`` at positions ``index`` (a vector) along ``dim``."""
    dim = normalize_dim(dim, input.ndim, "index_select")
    idx = _int_index(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be a vector, got shape {tuple(idx.shape)}")
    if input.ndim == 0 and idx.size != 1:
        raise RuntimeError(f"index_select(): index to a 0-d tensor can have only 1 value, got "
                           f"{idx.size}")
    return ops.take(input, idx.reshape(-1), dim)


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere (mask broadcasts against input)."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {np.dtype(m.dtype).name}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-dimensional tensor, "
                             f"got shape {tuple(value.shape)}")
        value = ops.cast(value, input.dtype)
    else:
        value = O.constant(value, input.dtype)
    return ops.where(m, value, input)


def take_along_dim(input: Tensor, indices, dim: int | None = None) -> Tensor:
    """input's entries at ``indices`` along ``dim`` (both flattened when dim is None); input
    and indices broadcast against each other off ``dim``."""
    idx = _int_index(indices, "take_along_dim")
    flat = dim is None
    if flat:
        input, idx, dim = ops.reshape(input, (-1,)), idx.reshape(-1), 0
    dim = normalize_dim(dim, input.ndim, "take_along_dim", wrap_scalar=False)
    if idx.ndim != input.ndim:
        raise ValueError(f"take_along_dim: indices have {idx.ndim} dimensions but the input has "
                         f"{input.ndim} (shape {tuple(input.shape)})")
    size = input.shape[dim]
    if flat:   # PyTorch's flat form is a gather: negative indices are out of bounds there
        _check_bounds(idx, size, "take_along_dim", dim)
    else:      # with a dim, PyTorch counts negative indices from the end
        idx = wrap_negative(idx, size, "take_along_dim", dim)
    return ops.take_along_axis(input, idx, dim)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each class index
    (num_classes=-1 uses max + 1). Not differentiable."""
    idx = _int_index(tensor, "one_hot")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(idx.max()) + 1
    if idx.size and type(idx) is not np.ndarray:     # checked on the device, read at a sync
        from .. import devices
        devices.defer_check(((idx < 0) | (idx >= num_classes)).any(),
                            f"one_hot: a class value is negative or not smaller than num_classes="
                            f"{num_classes}; found on the GPU and reported at this sync")
    elif idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    elif idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes="
                         f"{num_classes}, got {int(idx.max())}")
    xp = np if type(idx) is np.ndarray else backend.get_array_module(idx)
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._wrap(out, False, None)
