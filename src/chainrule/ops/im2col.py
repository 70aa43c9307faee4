"""The im2col pair and the window helpers that convolution and pooling share.

For an input x of shape (N, C, *S) and kernel size k, ``unfold`` gathers every receptive field
into a matrix: cols[c, *κ, n, *o] = x_pad[n, c, *(o·stride + κ·dilation)], laid out (C·K, N·L)
with K = Πk and L = Π out. ``unfold`` is linear; its adjoint ``fold`` (col2im) adds every column
back where it was read, looping over the K kernel offsets and adding strided slices, never over
output pixels. Each of the pair is the other's backward, so what is built from them is
differentiable to any order. The raw helpers (``pad_array``, ``window_view``, ``fold_windows``,
``offset_slices``, ``crop``) work on NumPy and CuPy arrays alike; strided views of CuPy arrays
come from the backend's CUDA kernels.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided as _np_as_strided

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["as_strided", "out_size", "pad_array", "window_view", "offset_slices",
           "fold_windows", "crop", "Unfold", "Fold", "unfold_cols", "fold_cols"]


def as_strided(x, shape, strides, writeable: bool = False):
    """A strided view of ``x``: NumPy's ``as_strided``, or the CUDA kernels' for CuPy arrays."""
    if type(x) is np.ndarray:
        return _np_as_strided(x, shape, strides, writeable=writeable)
    return backend.cuda_kernels("conv").as_strided(x, shape, strides)


def out_size(n: int, k: int, stride: int, dilation: int, lo: int, hi: int) -> int:
    """Number of window positions: ⌊(n + lo + hi − dilation·(k − 1) − 1) / stride⌋ + 1."""
    return (n + lo + hi - dilation * (k - 1) - 1) // stride + 1


def pad_array(x, pads, value=0.0, channel_major: bool | None = None):
    """x (A, B, *S) padded on its spatial axes by ``pads`` = ((lo, hi), ...) with ``value``.

    The buffer keeps x's order of its first two axes in memory (an input stored channel-major, as
    convolution outputs are, stays so), which keeps the copies into columns fast.
    """
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = backend.get_array_module(x)
    shape = tuple(x.shape[:2]) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], pads))
    if channel_major is None:
        channel_major = x.ndim > 1 and x.strides[1] > x.strides[0]
    if channel_major:
        buf = xp.full((shape[1], shape[0]) + shape[2:], value, dtype=x.dtype)
        out = buf.transpose((1, 0) + tuple(range(2, x.ndim)))
    else:
        out = xp.full(shape, value, dtype=x.dtype)
    out[(slice(None), slice(None)) + inner] = x
    return out


def window_view(xpad, kernel, stride, dilation, out):
    """A read-only view (A, B, *out, *kernel) of every window of xpad (A, B, *S_padded)."""
    st = xpad.strides
    sp = st[2:]
    shape = tuple(xpad.shape[:2]) + tuple(out) + tuple(kernel)
    strides = st[:2] + tuple(s * t for s, t in zip(sp, stride)) + \
        tuple(s * d for s, d in zip(sp, dilation))
    return as_strided(xpad, shape, strides, writeable=False)


def offset_slices(offset, stride, dilation, out):
    """The strided slice of the padded input that kernel offset κ reads for all outputs."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, s, d, o in zip(offset, stride, dilation, out))


def fold_windows(gwin_of, lead, padded, kernel, stride, dilation, out, dtype):
    """Σ over kernel offsets κ of ``gwin_of(κ)`` (shape (*lead, *out)) added into a zero array
    (*lead, *padded) at the slice offset κ reads — the adjoint of taking windows."""
    acc = None
    head = (slice(None),) * len(lead)
    for off in itertools.product(*(range(k) for k in kernel)):
        part = gwin_of(off)
        if acc is None:                     # on the device the windows' gradient lives on
            acc = backend.get_array_module(part).zeros(tuple(lead) + tuple(padded), dtype=dtype)
        acc[head + offset_slices(off, stride, dilation, out)] += part
    return acc


def crop(a, pads, spatial_from: int):
    """Remove ``pads`` from the spatial axes (those from ``spatial_from`` on)."""
    if not any(lo or hi for lo, hi in pads):
        return a
    return a[(slice(None),) * spatial_from +
             tuple(slice(lo, n - hi) for n, (lo, hi) in zip(a.shape[spatial_from:], pads))]


class Unfold(Function):
    """cols[c, *κ, n, *o] = x_pad[n, c, *(o·stride + κ·dilation)] (im2col, shape (C, *k, N, *out));
    linear, so ∂L/∂x = fold(∂L/∂cols)."""

    def forward(self, xp, x, kernel=(), stride=(), dilation=(), pads=()):
        self.params = dict(kernel=kernel, stride=stride, dilation=dilation, pads=pads)
        self.in_shape = x.shape
        return unfold_cols(x, **self.params)

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (Fold.apply(g, in_shape=self.in_shape, **self.params),)
        return (fold_cols(g, self.in_shape, **self.params),)


def unfold_cols(x, kernel, stride, dilation, pads):
    """im2col on raw arrays: (N, C, *S) -> (C, *kernel, N, *out), contiguous."""
    out = [out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi)
           in zip(x.shape[2:], kernel, stride, dilation, pads)]
    if min(out) <= 0:
        raise ValueError(f"conv: the kernel {tuple(kernel)} (dilation {tuple(dilation)}) "
                         f"does not fit the padded input {tuple(x.shape)}")
    win = window_view(pad_array(x, pads), kernel, stride, dilation, out)       # (N, C, *o, *k)
    nd = len(kernel)
    order = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
    return backend.get_array_module(x).ascontiguousarray(win.transpose(order))


def fold_cols(g, in_shape, kernel, stride, dilation, pads):
    """col2im: the adjoint of :class:`Unfold` on raw arrays; returns shape ``in_shape``."""
    nd = len(kernel)
    n, c = in_shape[:2]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(in_shape[2:], pads))
    out = g.shape[2 + nd:]
    acc = fold_windows(lambda off: g[(slice(None),) + off], (c, n), padded, kernel, stride,
                       dilation, out, g.dtype)                                  # (C, N, *padded)
    return crop(acc, pads, 2).transpose((1, 0) + tuple(range(2, 2 + nd)))


class Fold(Function):
    """col2im: x[n, c, *p] = Σ of the columns that read position p (the adjoint of Unfold);
    ∂L/∂cols = unfold(∂L/∂x)."""

    def forward(self, xp, cols, in_shape=(), **params):
        self.params = params
        return fold_cols(cols, in_shape, **params)

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (Unfold.apply(g, **self.params),)
        return (unfold_cols(g, **self.params),)
