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

from .. import backend
from .._blas.intraop import over_batch, split_batch
from .._onednn.pool import plan_for as onednn_pool_plan
from ..autograd.function import Function
from ..tensor import Tensor
from .im2col import pad_array, fold_windows, offset_slices, crop
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
    """z = max over each window;  ∂L/∂x = ∂L/∂z placed at each window's (first) maximum.

    Forward takes the maximum over the K kernel offsets of strided slices of the (padded)
    input — output-sized arrays, no window copy; when windows tile the input the slices come from
    a reshape. Backward finds, per window, the first offset holding the maximum and adds
    ∂L/∂z there, offset by offset. When windows tile the input (NumPy) both directions run
    over ranges of the batch on the intra-op threads (:mod:`chainrule._blas.intraop`). With
    the ``onednn`` extra, float32 NumPy inputs without NaN pool on oneDNN instead
    (:mod:`chainrule._onednn.pool`: the same maxima and first-maximum gradient).
    """

    def forward(self, xp, x, kernel=(), stride=(), dilation=(), pads=()):
        self.kernel, self.stride, self.dilation, self.pads = kernel, stride, dilation, pads
        self.in_shape, self._arg = x.shape, None
        self._xpad = None
        self._dnnl = None
        z_shape = x.shape[:2] + pool_out(x.shape[2:], kernel, stride, dilation, pads)
        plan = onednn_pool_plan(x, z_shape, kernel, stride, dilation, pads)
        if plan is not None:           # oneDNN's max pooling (the onednn extra)
            z, ws = plan.forward(x)
            self._dnnl = (plan, ws)
            self.save(x, z)
            return z
        if xp is np and tiles_exactly(kernel, stride, dilation, pads):
            z = np.empty(z_shape, x.dtype)
            split_batch(x.shape[0], x.size, lambda lo, hi: self._max_into(z[lo:hi], x[lo:hi]))
        else:
            z = self._max_into(None, x)
        self._xpad = None
        self.save(x, z)
        return z

    def _max_into(self, z, x):
        """z = the maximum over the kernel offsets of x's windows (a new array if z is None)."""
        for i, off in enumerate(self.offsets()):
            p = self._part(x, off)
            if z is None:
                z = p.copy()
            elif i == 0:            # a NumPy range of the output (the split forward)
                np.copyto(z, p)
            else:
                backend.get_array_module(z).maximum(z, p, out=z)
        return z

    def offsets(self) -> list:
        return list(itertools.product(*(range(k) for k in self.kernel)))

    def _part(self, x, off):
        """The input element at kernel offset ``off`` of every window (shape of the output)."""
        out = pool_out(x.shape[2:], self.kernel, self.stride, self.dilation, self.pads)
        if tiles_exactly(self.kernel, self.stride, self.dilation, self.pads):
            blocks = block_view(x, self.kernel, out)                   # (N, C, o₁, k₁, o₂, k₂)
            return blocks[(slice(None), slice(None)) + tuple(
                v for k in off for v in (slice(None), k))]
        if getattr(self, "_xpad", None) is None or self._xpad[0] is not x:
            fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
            self._xpad = (x, pad_array(x, self.pads, fill))
        return self._xpad[1][(slice(None), slice(None)) +
                             offset_slices(off, self.stride, self.dilation, out)]

    def argmax(self) -> np.ndarray:
        """Per window, the index of the first kernel offset holding the maximum: the number of
        leading offsets whose element is below it."""
        if self._arg is None:
            x, z = self._saved_arrays()
            xp = backend.get_array_module(z)
            self._arg = self._argmax_into(xp.zeros(z.shape, dtype=self._arg_dtype()), x, z)
            self._xpad = None
        return self._arg

    def _saved_arrays(self) -> tuple:
        return tuple(s._data if isinstance(s, Tensor) else s for s in self.saved)

    def _arg_dtype(self):
        return np.int8 if len(self.offsets()) < 128 else np.int64

    def _argmax_into(self, arg, x, z):
        """arg (zeros, z's shape) += the number of leading kernel offsets below each maximum."""
        xp = backend.get_array_module(z)
        below = None
        for off in self.offsets()[:-1]:
            lt = self._part(x, off) < z
            below = lt if below is None else xp.logical_and(below, lt, out=below)
            arg += below
        return arg

    def flat(self) -> np.ndarray:
        """The flat position in x of each window's maximum: its window's origin plus the winning
        kernel offset."""
        sizes = self.in_shape[2:]
        nd = len(sizes)
        arg = self.argmax()
        xp = backend.get_array_module(arg)
        base = xp.arange(self.in_shape[0] * self.in_shape[1]).reshape(arg.shape[:2] + (1,) * nd)
        for d in range(nd):
            o = xp.arange(arg.shape[2 + d]).reshape((-1,) + (1,) * (nd - 1 - d))
            base = base * sizes[d] + (o * self.stride[d] - self.pads[d][0])
        step = np.cumprod((1,) + tuple(sizes[::-1]))[:nd][::-1]        # flat stride of each axis
        delta = xp.asarray([sum(int(k * dl * st) for k, dl, st in zip(off, self.dilation, step))
                            for off in self.offsets()])
        return xp.clip(base + delta[arg], 0, math.prod(self.in_shape) - 1)

    def indices(self) -> np.ndarray:
        """PyTorch's return_indices: the flat position of each maximum within its (*S) plane."""
        return (self.flat() % math.prod(self.in_shape[2:])).astype(np.int64)

    def _backward_blocks(self, xp, g, t_of):
        """∂L/∂x when the windows tile x exactly: each sample range finds its windows' first
        maxima (unless known) and writes ∂L/∂z at them, on its own thread (NumPy)."""
        x, z = self._saved_arrays()
        gx = xp.empty(self.in_shape, dtype=g.dtype)
        fresh = self._arg is None
        arg = xp.zeros(z.shape, dtype=self._arg_dtype()) if fresh else self._arg

        def part(lo, hi):
            _backward_blocks_part(self, xp, g[lo:hi], gx[lo:hi], arg[lo:hi], x[lo:hi],
                                  z[lo:hi], t_of, fresh)

        over_batch(xp, g.shape[0], gx.size, part)
        self._arg = arg
        return gx

    def backward(self, xp, g):
        if isinstance(g, Tensor):  # a scatter at fixed positions: linear in g, differentiable
            gx = IndexScatter.apply(g, shape=(math.prod(self.in_shape),), index=self.flat(),
                                    basic=False)
            return (reshape(gx, self.in_shape),)
        if self._dnnl is not None:
            plan, ws = self._dnnl
            return (plan.backward(np.ascontiguousarray(g), ws),)
        t_of = {off: t for t, off in enumerate(self.offsets())}
        out = g.shape[2:]
        if tiles_exactly(self.kernel, self.stride, self.dilation, self.pads) and \
                all(o * k == n for o, k, n in zip(out, self.kernel, self.in_shape[2:])):
            return (self._backward_blocks(xp, g, t_of),)
        arg = self.argmax()
        g = xp.ascontiguousarray(g)          # one cheap copy beats K passes over a strided view
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(self.in_shape[2:], self.pads))
        acc = fold_windows(lambda off: g * (arg == t_of[off]), self.in_shape[:2],
                           padded, self.kernel, self.stride, self.dilation, g.shape[2:], g.dtype)
        return (crop(acc, self.pads, 2),)


def _block_slices(off) -> tuple:
    """The (N, C, o₁, k₁, o₂, k₂, …) index of kernel offset ``off`` in every block."""
    return (slice(None), slice(None)) + tuple(v for k in off for v in (slice(None), k))


def _backward_blocks_part(pool, xp, g, gx, arg, x, z, t_of, fresh: bool) -> None:
    """The tiling case of :meth:`MaxPool.backward` on a range of samples: ∂L/∂z times
    (winning offset = t) written into offset t of every block of gx (which they cover)."""
    if fresh:
        pool._argmax_into(arg, x, z)
    g = xp.ascontiguousarray(g)          # one cheap copy beats K passes over a strided view
    out = g.shape[2:]
    blocks = gx.reshape(tuple(gx.shape[:2]) + tuple(
        v for o, k in zip(out, pool.kernel) for v in (o, k)))
    for off, t in t_of.items():
        xp.multiply(g, arg == t, out=blocks[_block_slices(off)])


def _window_sum(x, kernel, stride, pads):
    nd = len(kernel)
    out = pool_out(x.shape[2:], kernel, stride, (1,) * nd, pads)
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
        # each value repeated k times along each spatial axis: repeat copies whole runs
        # (≈ 5× faster than copying a broadcast view, whose innermost loop is k long)
        xp = backend.get_array_module(g)
        tiled = g
        for d, k in enumerate(kernel):
            if k != 1:
                tiled = xp.repeat(tiled, k, axis=2 + d)
        if tiled.shape == tuple(in_shape):
            return tiled
        spread = xp.zeros(in_shape, dtype=g.dtype)
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
        if isinstance(g, Tensor):
            return (WindowSum.apply(g, **self.params),)
        return (_window_sum(g, **self.params),)


def window_sum(x, kernel, stride, pads):
    return WindowSum.apply(x, kernel=tuple(kernel), stride=tuple(stride), pads=tuple(pads))
