"""Pooling with PyTorch's signatures: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d.

* max pool: z = max of each window (padding counts as −∞); the gradient goes to the first
  maximum of each window.
* avg pool: z = (Σ window) / divisor, the divisor being the kernel size (count_include_pad=True),
  the number of real input elements in the window (False), or ``divisor_override``.
* adaptive avg pool: output i averages input [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) — a fixed linear map per
  axis, applied as a matrix product (or as an avg pool when m divides n).

Output size: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1, rounded up instead with ceil_mode (a last window
must still start inside the input or its left padding).
"""
from __future__ import annotations

import math

import numpy as np

from ... import backend, ops
from ...ops import pool as P
from ...tensor import Tensor
from .conv import ntuple, batched

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d"]


def _geometry(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, dilation, pads ((lo, hi) per axis, hi grown for ceil_mode) and out."""
    kernel = ntuple(kernel_size, nd, "kernel_size", op)
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if empty else ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    padding = ntuple(padding, nd, "padding", op, minimum=0)
    pads, out = [], []
    for n, k, s, d, p in zip(x.shape[2:], kernel, stride, dilation, padding):
        span = d * (k - 1) + 1
        if 2 * p > k:
            raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size "
                             f"{kernel}")
        num = n + 2 * p - span
        o = (-(-num // s) if ceil_mode else num // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            raise ValueError(f"{op}: input of shape {tuple(x.shape)} is too small for "
                             f"kernel_size={kernel}, padding={padding}, dilation={dilation}")
        pads.append((p, p + max(0, (o - 1) * s + span - (n + 2 * p))))
        out.append(o)
    return kernel, stride, dilation, tuple(pads), tuple(out), padding


def _check_float(op, x):
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {np.dtype(x.dtype).name}")


def _max_pool(nd, op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = batched(input, nd, op)
    kernel, stride, dilation, pads, _, _ = _geometry(op, nd, x, kernel_size, stride, padding,
                                                     dilation, ceil_mode)
    z = P.MaxPool.apply(x, kernel=kernel, stride=stride, dilation=dilation, pads=pads)
    if return_indices:
        idx = _max_indices(x, kernel, stride, dilation, pads, z)
    if unbatched:
        z = ops.reshape(z, tuple(z.shape[1:]))
    if not return_indices:
        return z
    return z, Tensor._wrap(idx[0] if unbatched else idx, False, None)


def _max_indices(x, kernel, stride, dilation, pads, z) -> np.ndarray:
    node = z.grad_fn
    if node is None:  # no graph was recorded: run the primitive once more to read its indices
        node = P.MaxPool.__new__(P.MaxPool)
        node.forward(np, x._data, kernel=kernel, stride=stride, dilation=dilation, pads=pads)
    return node.indices()


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over windows of (N, C, L); with return_indices also each maximum's position in L."""
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over windows of (N, C, H, W); with return_indices also each maximum's flat
    position in H·W."""
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(nd, op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched = batched(input, nd, op)
    _check_float(op, x)
    kernel, stride, _, pads, out, padding = _geometry(op, nd, x, kernel_size, stride, padding, 1,
                                                      ceil_mode)
    z = P.window_sum(x, kernel, stride, pads)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero")
        z = ops.multiply(z, 1.0 / divisor_override)
    elif count_include_pad and all(hi == lo for lo, hi in pads):
        z = ops.multiply(z, 1.0 / math.prod(kernel))
    else:
        # count what each window covers: the padded input (count_include_pad) or the input only
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
        mask = backend.get_array_module(x._data).zeros((1, 1) + shape, dtype=x.dtype)
        region = tuple(slice(0, n + 2 * p) if count_include_pad else slice(p, p + n)
                       for n, p in zip(x.shape[2:], padding))
        mask[(0, 0) + region] = 1
        count = P._window_sum(mask, kernel, stride, ((0, 0),) * nd)
        z = ops.divide(z, count)
    return ops.reshape(z, tuple(z.shape[1:])) if unbatched else z


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of (N, C, L)."""
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over windows of (N, C, H, W)."""
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_matrix(n: int, m: int, dtype) -> np.ndarray:
    """The (m, n) averaging matrix: row i is 1/len on [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)."""
    a = np.zeros((m, n), dtype=dtype)
    for i in range(m):
        lo, hi = (i * n) // m, -(-((i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_avg(nd, op, input, output_size):
    x, unbatched = batched(input, nd, op)
    _check_float(op, x)
    sizes = x.shape[2:]
    if output_size is None or isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must have {nd} elements, got {output_size!r}")
    out = tuple(n if m is None else int(m) for n, m in zip(sizes, output_size))
    if any(m < 1 for m in out):
        raise ValueError(f"{op}: output_size must be at least 1, got {output_size!r}")
    if all(m == 1 for m in out):
        z = ops.mean(x, axis=tuple(range(2, 2 + nd)), keepdims=True)
    elif all(n % m == 0 for n, m in zip(sizes, out)):
        kernel = tuple(n // m for n, m in zip(sizes, out))
        z = ops.multiply(P.window_sum(x, kernel, kernel, ((0, 0),) * nd),
                         1.0 / math.prod(kernel))
    else:
        z = x
        for axis in range(nd):  # contract one spatial axis at a time with its averaging matrix
            a = _adaptive_matrix(sizes[axis], out[axis], x.dtype)
            z = ops.swapaxes(ops.matmul(ops.swapaxes(z, 2 + axis, -1), a.T), 2 + axis, -1)
    return ops.reshape(z, tuple(z.shape[1:])) if unbatched else z


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average (N, C, L) down to (N, C, output_size) with PyTorch's window bounds."""
    return _adaptive_avg(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average (N, C, H, W) down to (N, C, *output_size); an entry None keeps that size."""
    return _adaptive_avg(2, "adaptive_avg_pool2d", input, output_size)
