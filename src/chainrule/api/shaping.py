"""Shape and linear-algebra functions with PyTorch's names: reshape/view, flatten, permute,
squeeze/unsqueeze, expand, cat/stack, split/chunk, transpose, matmul."""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._args import size_arg

__all__ = ["reshape", "flatten", "permute", "transpose", "squeeze", "unsqueeze", "expand",
           "broadcast_to", "cat", "concat", "concatenate", "stack", "split", "chunk", "matmul",
           "mm", "bmm", "t", "movedim"]


def _resolve_shape(input, shape: tuple) -> tuple:
    """Replace a single -1 by the size that keeps the element count, as view() does."""
    if shape.count(-1) > 1:
        raise ValueError(f"view: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or input._data.size % known:
            raise ValueError(f"view: shape {shape} is invalid for a tensor of shape "
                             f"{tuple(input.shape)} ({input._data.size} elements)")
        shape = tuple(input._data.size // known if s == -1 else s for s in shape)
    return shape


def reshape(input, *shape):
    """The same elements in a new shape (one dimension may be -1)."""
    shape = _resolve_shape(input, size_arg(shape))
    return ops.reshape(input, shape)   # a new tensor even for the same shape (PyTorch's view)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions start_dim..end_dim into one."""
    n = input.ndim
    if n == 0:
        return ops.reshape(input, (1,))
    s, e = start_dim % n, end_dim % n
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape[:s] + (math.prod(input.shape[s:e + 1]),) + input.shape[e + 1:]
    return input if shape == input.shape else ops.reshape(input, shape)


def permute(input, *dims):
    return ops.transpose(input, size_arg(dims))


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions."""
    return ops.swapaxes(input, dim0, dim1)


def t(input):
    """Transpose of a matrix (a vector is returned as is)."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape {input.shape}")
    return input if input.ndim < 2 else ops.transpose(input)


def movedim(input, source: int, destination: int):
    order = [d for d in range(input.ndim) if d != source % input.ndim]
    order.insert(destination % input.ndim, source % input.ndim)
    return ops.transpose(input, tuple(order))


def squeeze(input, dim=None):
    """Drop dimensions of size 1 (only ``dim`` when given)."""
    return ops.squeeze(input, dim)


def unsqueeze(input, dim: int):
    """Insert a dimension of size 1 at ``dim``."""
    if not -input.ndim - 1 <= dim <= input.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of dimension "
                         f"{input.ndim}")
    return ops.expand_dims(input, dim)


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension's size."""
    sizes = size_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor of dimension {input.ndim}")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(input, shape)


def broadcast_to(input, shape):
    """Broadcast to ``shape`` (NumPy's rules)."""
    shape = tuple(shape)
    try:
        ok = np.broadcast_shapes(tuple(input.shape), shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"expand: cannot broadcast shape {tuple(input.shape)} to {shape}")
    return ops.broadcast_to(input, shape)


def cat(tensors, dim: int = 0, *, axis=None):
    """Join tensors along an existing dimension."""
    return ops.concatenate(list(tensors), axis=dim if axis is None else axis)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, axis=None):
    """Join tensors along a new dimension."""
    return ops.stack(list(tensors), axis=dim if axis is None else axis)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Pieces of size ``split_size`` (the last may be smaller), or of the listed sizes."""
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dimension {dim}'s "
                             f"size {n}")
    lead = (slice(None),) * (dim % tensor.ndim)
    pieces, start = [], 0
    for s in sizes:
        pieces.append(ops.getitem(tensor, lead + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = input.shape[dim]
    if n == 0:   # PyTorch: an empty dimension gives ``chunks`` empty pieces
        return tuple(ops.getitem(input, (slice(None),) * (dim % input.ndim) + (slice(0, 0),))
                     for _ in range(chunks))
    return split(input, max(1, math.ceil(n / chunks)), dim)


def matmul(input, other):
    """Matrix product with NumPy's 1-D and batch rules."""
    return ops.matmul(input, other)


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise ValueError(f"mm: expects two matrices, got shapes {input.shape} and {mat2.shape}")
    return ops.matmul(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise ValueError(f"bmm: expects two 3-D tensors, got shapes {input.shape} and {mat2.shape}")
    return ops.matmul(input, mat2)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
