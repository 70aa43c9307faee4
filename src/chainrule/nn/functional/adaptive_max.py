"""Adaptive max pooling: output cell i (per spatial axis) is the maximum of input
[⌊i·n/m⌋, ⌈(i+1)·n/m⌉); the gradient goes to the first maximum of each window (a NaN counts as
the maximum), as PyTorch's CPU kernel. The positions are found on raw arrays, and the values
gathered with ``take_along_axis`` (whose backward scatters the gradient)."""
from __future__ import annotations

import itertools

import numpy as np

from ... import backend, ops
from ...tensor import Tensor
from .conv import batched

__all__ = ["adaptive_max_pool1d", "adaptive_max_pool2d"]


def _bounds(n: int, m: int) -> list:
    return [((i * n) // m, -(-((i + 1) * n) // m)) for i in range(m)]


def _out_sizes(op: str, nd: int, sizes: tuple, output_size) -> tuple:
    if output_size is None or isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must have {nd} elements, got {output_size!r}")
    out = tuple(n if m is None else int(m) for n, m in zip(sizes, output_size))
    if any(m < 1 for m in out):
        raise ValueError(f"{op}: output_size must be at least 1, got {output_size!r}")
    return out


def _argmax_positions(x, out: tuple):
    """Flat positions (into the spatial axes) of each window's first maximum: (N, C, Π out)."""
    xp = backend.get_array_module(x)
    sizes = x.shape[2:]
    strides = [int(np.prod(sizes[i + 1:])) for i in range(len(sizes))]
    cells = []
    for window in itertools.product(*(_bounds(n, m) for n, m in zip(sizes, out))):
        block = x[(slice(None), slice(None)) + tuple(slice(lo, hi) for lo, hi in window)]
        local = xp.argmax(block.reshape(block.shape[:2] + (-1,)), axis=2)
        widths = [hi - lo for lo, hi in window]
        flat = 0
        for axis, (lo, _) in enumerate(window):   # local flat index -> global flat index
            inner = int(np.prod(widths[axis + 1:]))
            flat = flat + ((local // inner) % widths[axis] + lo) * strides[axis]
        cells.append(flat)
    return xp.stack(cells, axis=2).astype(np.int64)


def _adaptive_max(nd: int, op: str, input, output_size, return_indices: bool):
    x, unbatched = batched(input, nd, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}")
    if any(n == 0 for n in x.shape[2:]):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has an empty spatial axis")
    out = _out_sizes(op, nd, tuple(x.shape[2:]), output_size)
    idx = _argmax_positions(x._data, out)
    flat = ops.reshape(x, tuple(x.shape[:2]) + (-1,))
    z = ops.reshape(ops.take_along_axis(flat, Tensor._wrap(idx, False, None), axis=2), tuple(x.shape[:2]) + out)
    idx = idx.reshape(tuple(x.shape[:2]) + out)
    if unbatched:
        z, idx = ops.reshape(z, tuple(z.shape[1:])), idx[0]
    if not return_indices:
        return z
    return z, Tensor._wrap(idx, False, None)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max of (N, C, L) over PyTorch's adaptive windows down to (N, C, output_size)."""
    return _adaptive_max(1, "adaptive_max_pool1d", input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max of (N, C, H, W) down to (N, C, *output_size) (None keeps a size); indices are flat
    positions in H·W."""
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size, return_indices)
