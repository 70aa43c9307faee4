"""Shape and linear-algebra functions with PyTorch's names: reshape/view, flatten, permute,
squeeze/unsqueeze, expand, cat/stack, split/chunk, transpose, matmul."""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..tensor import Tensor
from ._args import dim_arg, dims_arg, int_arg, normalize_dim, normalize_dims, size_arg

__all__ = ["reshape", "flatten", "unflatten", "permute", "transpose", "squeeze", "unsqueeze",
           "expand", "broadcast_to", "cat", "concat", "concatenate", "stack", "split", "chunk",
           "matmul", "mm", "bmm", "t", "movedim"]


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


def reshape(input, *shape_, shape=None):
    """The same elements in a new shape (one dimension may be -1); ``shape=`` as torch's."""
    shape = shape_ if shape is None else (shape,)
    shape = _resolve_shape(input, size_arg(shape))
    return ops.reshape(input, shape)   # a new tensor even for the same shape (PyTorch's view)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions start_dim..end_dim into one."""
    n = input.ndim
    s = normalize_dim(start_dim, n, "flatten", name="start_dim")
    e = normalize_dim(end_dim, n, "flatten", name="end_dim")
    if n == 0:
        return ops.reshape(input, (1,))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape[:s] + (math.prod(input.shape[s:e + 1]),) + input.shape[e + 1:]
    return input if shape == input.shape else ops.reshape(input, shape)


def unflatten(input, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one of them may be -1), whose product must be
    that dimension's size."""
    d = normalize_dim(dim, input.ndim, "unflatten")
    if input.ndim == 0:
        raise RuntimeError(f"unflatten: Dimension specified as {dim} but tensor has no "
                           f"dimensions")
    sizes = size_arg((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {sizes}")
    n = input.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes and known and n % known == 0:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != n or -1 in sizes:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {d} ({n}) in the input tensor")
    return ops.reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def permute(input, *dims_, dims=None):
    """The dimensions reordered: output dim i is input dim dims[i] (``permute(x, 1, 0)`` or
    ``permute(x, dims=(1, 0))``)."""
    dims = dims_ if dims is None else (dims,)
    order = normalize_dims(dims_arg(dims), input.ndim, "permute")
    if len(order) != input.ndim:
        raise RuntimeError(f"permute: {len(order)} dims {dims_arg(dims)} given for a tensor of "
                           f"dimension {input.ndim} (shape {tuple(input.shape)})")
    if input.ndim == 0 or order == tuple(range(input.ndim)):
        return ops.reshape(input, input.shape)
    return ops.transpose(input, order)


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions."""
    a = normalize_dim(dim0, input.ndim, "transpose", name="dim0")
    b = normalize_dim(dim1, input.ndim, "transpose", name="dim1")
    if a == b:
        return ops.reshape(input, input.shape)
    return ops.swapaxes(input, a, b)


def t(input):
    """Transpose of a matrix (a vector is returned as is)."""
    if input.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape {tuple(input.shape)}")
    return input if input.ndim < 2 else ops.transpose(input)


def movedim(input, source, destination):
    """Move dims ``source`` (an int or a sequence) to positions ``destination``, the others
    keeping their order."""
    src = normalize_dims(source, input.ndim, "movedim")
    dst = normalize_dims(destination, input.ndim, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source!r} and destination {destination!r} must "
                           f"name the same number of dims")
    if input.ndim == 0:
        return ops.reshape(input, ())
    order = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    order = tuple(next(rest) if o is None else o for o in order)
    return ops.transpose(input, order)


def squeeze(input, dim=None):
    """Drop dimensions of size 1 (only those in ``dim``, an int or a tuple, when given)."""
    if dim is None:
        return ops.squeeze(input)
    axes = normalize_dims(dim, input.ndim, "squeeze")
    if input.ndim == 0:
        return ops.reshape(input, ())
    return ops.squeeze(input, axes)


def unsqueeze(input, dim: int):
    """Insert a dimension of size 1 at ``dim`` (in [−ndim − 1, ndim])."""
    return ops.expand_dims(input, normalize_dim(dim, input.ndim, "unsqueeze", extra=1))


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


def _tensor_list(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): expected a sequence of tensors, got a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    return tensors


def cat(tensors, dim=None, *, axis=None):
    """Join tensors along an existing dimension (dim 0 by default)."""
    tensors = _tensor_list("cat", tensors)
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    # PyTorch's legacy rule skips 1-d empty tensors, so the dim is the other tensors'
    ref = next((x for x in tensors if x.shape != (0,)), tensors[0])
    d = normalize_dim(dim_arg(dim, axis, 0), ref.ndim, "cat")
    return ops.concatenate(tensors, axis=d)


concat = concatenate = cat


def stack(tensors, dim=None, *, axis=None):
    """Join tensors along a new dimension (in [−ndim − 1, ndim]; 0 by default)."""
    tensors = _tensor_list("stack", tensors)
    d = normalize_dim(dim_arg(dim, axis, 0), tensors[0].ndim, "stack", extra=1)
    return ops.stack(tensors, axis=d)


def _split_dim(op: str, tensor, dim) -> int:
    if tensor.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")
    return normalize_dim(dim, tensor.ndim, op)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Pieces of size ``split_size`` (the last may be smaller), or of the listed sizes."""
    dim = _split_dim("split", tensor, dim)
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, bool):
        raise TypeError("split(): split_size_or_sections must be an int or a list of ints, "
                        "not bool")
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to dimension {dim}'s "
                             f"size {n}")
    lead = (slice(None),) * dim
    pieces, start = [], 0
    for s in sizes:
        pieces.append(ops.getitem(tensor, lead + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    dim = _split_dim("chunk", input, dim)
    chunks = int_arg(chunks, "chunk", "chunks")
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
        raise ValueError(f"mm: expects two matrices, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return ops.matmul(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise ValueError(f"bmm: expects two 3-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"bmm: batch2 must have shape [{input.shape[0]}, {input.shape[2]}, m] "
                           f"for batch1 of shape {tuple(input.shape)} (same batch size, no "
                           f"broadcasting), got {tuple(mat2.shape)}")
    if input.dtype != mat2.dtype:
        raise RuntimeError(f"bmm: expected both tensors to have the same dtype, got "
                           f"{np.dtype(input.dtype).name} and {np.dtype(mat2.dtype).name}")
    return ops.matmul(input, mat2)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
