"""Convolution as im2col + one GEMM, with the im2col pair as the only new primitives.

For an input x of shape (N, C, *S) and kernel size k, ``unfold`` gathers every receptive field
into a matrix: cols[c, *κ, n, *o] = x_pad[n, c, *(o·stride + κ·dilation)], laid out (C·K, N·L)
with K = Πk and L = Π out. A convolution with weight W of shape (O, C/groups, *k) is then the
single matrix product  z = W.reshape(O, C·K) @ cols  (batched over groups), reshaped to
(N, O, *out). ``unfold`` is linear; its adjoint ``fold`` (col2im) adds every column back where it
was read, looping over the K kernel offsets and adding strided slices, never over output pixels.
Each of the pair is the other's backward, so convolution is differentiable to any order.

The raw helpers (``pad_array``, ``window_view``, ``fold_windows``) are shared with pooling.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ..tensor import Tensor
from .linalg import matmul
from .shape import reshape, transpose


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
    xp = np
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
    acc = np.zeros(tuple(lead) + tuple(padded), dtype=dtype)
    head = (slice(None),) * len(lead)
    for off in itertools.product(*(range(k) for k in kernel)):
        acc[head + offset_slices(off, stride, dilation, out)] += gwin_of(off)
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
    return np.ascontiguousarray(win.transpose(order))


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


def convolution(x, w, b=None, stride=(1,), pads=((0, 0),), dilation=(1,), groups: int = 1):
    """z[n, o, *p] = b[o] + Σ_{c, κ} w[o, c, *κ] · x_pad[n, g(o)·C/groups + c, *(p·stride +
    κ·dilation)], for x (N, C, *S) and w (O, C/groups, *k), as unfold + one (batched) GEMM."""
    nd = w.ndim - 2
    o, cg = w.shape[:2]
    kernel = tuple(w.shape[2:])
    cols = Unfold.apply(x, kernel=kernel, stride=tuple(stride), dilation=tuple(dilation),
                        pads=tuple(pads))                                     # (C, *k, N, *out)
    n, out = cols.shape[1 + nd], tuple(cols.shape[2 + nd:])
    k = cg * math.prod(kernel)
    m = n * math.prod(out)
    if groups == 1:
        z = matmul(reshape(w, (o, k)), reshape(cols, (k, m)))                # (O, N·L)
        if b is not None:   # added while z is (O, N·L): a contiguous broadcast, fast both ways
            z = z + reshape(b, (o, 1))
    else:
        z = matmul(reshape(w, (groups, o // groups, k)), reshape(cols, (groups, k, m)))
        if b is not None:
            z = z + reshape(b, (groups, o // groups, 1))
    return transpose(reshape(z, (o, n) + out), (1, 0) + tuple(range(2, 2 + nd)))
