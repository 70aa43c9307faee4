"""Pooling primitives over the trailing spatial axes of x (N, C, *S).

``MaxPool`` takes the largest element of each window and remembers where it was (the first one
on ties, as PyTorch does); its gradient puts ∂L/∂z at those places. ``WindowSum`` adds each
window (average pooling divides it afterwards); its adjoint ``WindowSpread`` copies each value
back over its window, and each is the other's backward. When windows tile the input exactly
(stride = kernel, no padding, no dilation) windows are a reshape instead of a strided view.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from .conv import pad_array, window_view, fold_windows, offset_slices, crop
from .indexing import IndexScatter
from .shape import reshape


def pool_out(shape, kernel, stride, dilation, pads):
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, k, s, d, (lo, hi) in zip(shape, kernel, stride, dilation, pads))


def tiles_exactly(kernel, stride, dilation, pads) -> bool:
    """True when the windows are disjoint blocks of the unpadded input (the reshape fast path)."""
    return tuple(kernel) == tuple(stride) and all(d == 1 for d in dilation) and \
        not any(lo or hi for lo, hi in pads)


def block_view(x, kernel, out):
    """The windows of x as a reshape, (N, C, o₁, k₁, o₂, k₂, …): valid when they tile x."""
    x = x[(slice(None), slice(None)) + tuple(slice(o * k) for o, k in zip(out, kernel))]
    return x.reshape(tuple(x.shape[:2]) + tuple(v for o, k in zip(out, kernel) for v in (o, k)))


class MaxPool(Function):
    """z = max over each window;  ∂L/∂x = ∂L/∂z placed at each window's (first) maximum."""

    def forward(self, xp, x, kernel=(), stride=(), dilation=(), pads=()):
        nd = len(kernel)
        out = pool_out(x.shape[2:], kernel, stride, dilation, pads)
        if tiles_exactly(kernel, stride, dilation, pads):
            blocks = block_view(x, kernel, out)                        # (N, C, o₁, k₁, o₂, k₂)
            order = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
            win = blocks.transpose(order)
        else:
            fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
            win = window_view(pad_array(x, pads, fill), kernel, stride, dilation, out)
        win = win.reshape(tuple(x.shape[:2]) + out + (-1,))           # (N, C, *out, K) copy
        arg = win.argmax(axis=-1)
        z = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        # flat position of each maximum in x: unravel the kernel offset, add the window origin
        offs = np.unravel_index(arg, kernel)
        flat = np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[:2] + (1,) * nd)
        for d in range(nd):
            o = np.arange(out[d]).reshape((-1,) + (1,) * (nd - 1 - d))
            pos = o * stride[d] + offs[d] * dilation[d] - pads[d][0]
            flat = flat * x.shape[2 + d] + np.clip(pos, 0, x.shape[2 + d] - 1)
        self.flat, self.in_shape = flat, x.shape
        self.overlap = any(k * d > s for k, s, d in zip(kernel, stride, dilation))
        return z

    def indices(self) -> np.ndarray:
        """PyTorch's return_indices: the flat position of each maximum within its (*S) plane."""
        return (self.flat % math.prod(self.in_shape[2:])).astype(np.int64)

    def backward(self, xp, g):
        size = math.prod(self.in_shape)
        if isinstance(g, Tensor):
            gx = IndexScatter.apply(reshape(g, (-1,)), shape=(size,), index=self.flat.reshape(-1),
                                    basic=False)
            return (reshape(gx, self.in_shape),)
        if self.overlap:
            gx = np.bincount(self.flat.reshape(-1), weights=g.reshape(-1), minlength=size)
            return (gx.astype(g.dtype, copy=False).reshape(self.in_shape),)
        gx = np.zeros(size, dtype=g.dtype)
        gx[self.flat.reshape(-1)] = g.reshape(-1)
        return (gx.reshape(self.in_shape),)


def _window_sum(x, kernel, stride, pads):
    nd = len(kernel)
    out = pool_out(x.shape[2:], kernel, stride, (1,) * nd, pads)
    if tiles_exactly(kernel, stride, (1,) * nd, pads):
        return block_view(x, kernel, out).sum(axis=tuple(range(3, 3 + 2 * nd, 2)))
    xpad = pad_array(x, pads, 0)
    z = None
    for off in itertools.product(*(range(k) for k in kernel)):
        part = xpad[(slice(None), slice(None)) + offset_slices(off, stride, (1,) * nd, out)]
        if z is None:
            z = part.copy()
        else:
            z += part
    return z


def _window_spread(g, in_shape, kernel, stride, pads):
    nd = len(kernel)
    out = g.shape[2:]
    if tiles_exactly(kernel, stride, (1,) * nd, pads):
        lead = tuple(g.shape[:2])
        blocks = np.broadcast_to(g.reshape(lead + tuple(v for o in out for v in (o, 1))),
                                 lead + tuple(v for o, k in zip(out, kernel) for v in (o, k)))
        tiled = blocks.reshape(lead + tuple(o * k for o, k in zip(out, kernel)))
        if tiled.shape == tuple(in_shape):
            return tiled
        spread = np.zeros(in_shape, dtype=g.dtype)
        spread[(slice(None), slice(None)) + tuple(slice(n) for n in tiled.shape[2:])] = tiled
        return spread
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_shape[2:], pads))
    acc = fold_windows(lambda off: g, in_shape[:2], padded, kernel, stride, (1,) * nd, out,
                       g.dtype)
    return crop(acc, pads, 2)


class WindowSum(Function):
    """z = Σ of each window of x (zero padding);  ∂L/∂x = each ∂L/∂z spread over its window."""

    def forward(self, xp, x, kernel=(), stride=(), pads=()):
        self.params = dict(kernel=kernel, stride=stride, pads=pads)
        self.in_shape = x.shape
        return _window_sum(x, kernel, stride, pads)

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (WindowSpread.apply(g, in_shape=self.in_shape, **self.params),)
        return (_window_spread(g, self.in_shape, **self.params),)


class WindowSpread(Function):
    """x[p] = Σ of the values of the windows containing p (the adjoint of WindowSum);
    ∂L/∂z = WindowSum(∂L/∂x)."""

    def forward(self, xp, g, in_shape=(), **params):
        self.params = params
        return _window_spread(g, in_shape, **params)

    def backward(self, xp, g):
        return (WindowSum.apply(g, **self.params),)


def window_sum(x, kernel, stride, pads):
    return WindowSum.apply(x, kernel=tuple(kernel), stride=tuple(stride), pads=tuple(pads))
