"""Convolution as im2col + one GEMM, with the im2col pair as the only new primitives.

For an input x of shape (N, C, *S) and kernel size k, ``unfold`` gathers every receptive field
into a matrix: cols[c, *κ, n, *o] = x_pad[n, c, *(o·stride + κ·dilation)], laid out (C·K, N·L)
with K = Πk and L = Π out. A convolution with weight W of shape (O, C/groups, *k) is then the
single matrix product  z = W.reshape(O, C·K) @ cols  (batched over groups), reshaped to
(N, O, *out). ``unfold`` is linear; its adjoint ``fold`` (col2im) adds every column back where it
was read, looping over the K kernel offsets and adding strided slices, never over output pixels.
Each of the pair is the other's backward, so convolution is differentiable to any order.

The pair and the raw helpers (``pad_array``, ``window_view``, ``fold_windows``) live in
:mod:`.im2col`, shared with pooling. Everything runs on NumPy or CuPy alike (``xp`` from the
backend); the two NumPy-only pieces get CuPy counterparts from the backend's CUDA kernels:
strided views (CuPy's ``as_strided``) and the input gradient's col2im (one GEMM for all kernel
offsets, then one gather kernel). Where the ``onednn`` extra is installed, float32 NumPy
convolutions run on oneDNN's direct-convolution primitives instead (:mod:`chainrule._onednn`,
switched by ``chainrule.backends.mkldnn.enabled``): on a 2-core EPYC they took workload B's
step from 9.5–10.5 to 6.0 ms.
"""
from __future__ import annotations

import itertools
import math
import weakref

import numpy as np

from .. import backend
from .._blas.gemm import matmul as gemm
from .._blas.intraop import over_batch, split_batch
from .._blas.threads import blas_threads_for
from .._onednn.conv import plan_for
from ..autograd.function import Function
from ..tensor import Tensor
from .im2col import (Fold, Unfold, as_strided, crop, fold_cols, fold_windows,  # noqa: F401
                     offset_slices, out_size, pad_array, unfold_cols, window_view)
from .linalg import matmul
from .shape import reshape, transpose


# Column workspaces: the columns are the largest array of a step and die right after backward;
# handing each back to a small free list when its node's saved copy dies (and reusing it in the
# next forward of the same shape) spares the allocator a multi-MB allocation that it would return
# to the kernel and fault back in every step. At most two buffers per shape, 64 MiB in all.
_free: dict = {}
_FREE_MAX = 64 << 20


def _take(shape, dtype, xp=np) -> np.ndarray:
    if xp is not np:      # CuPy's memory pool already reuses device blocks
        return xp.empty(shape, dtype)
    lst = _free.get((shape, np.dtype(dtype)))
    return lst.pop() if lst else np.empty(shape, dtype)


def _give(a: np.ndarray) -> None:
    lst = _free.setdefault((a.shape, a.dtype), [])
    if len(lst) < 2 and a.nbytes + sum(b.nbytes for v in _free.values() for b in v) <= _FREE_MAX:
        lst.append(a)


def _pooled(shape, dtype, xp=np) -> tuple:
    """A workspace of ``shape`` and a function that registers the view that owns it: once that
    view is garbage-collected the workspace returns to the free list (NumPy only)."""
    buf = _take(tuple(shape), dtype, xp)
    if xp is not np:
        return buf, _keep
    return buf, (lambda view: weakref.finalize(view, _give, buf))


def _keep(view) -> None:
    """The CuPy workspace's owner hook: nothing to do."""


def _unfold_rows(x, kernel, stride, dilation, pads, out):
    """im2col channels-last, unfilled: the padded channels-last buffer xl (N, *Sp, C), the window
    view of it (N, *o, *k, C) and a workspace ``cols`` of that shape with its owner hook; fill the
    samples lo:hi with :func:`_fill_rows` (rows (N·L, K·C), row (n, *o), column (*κ, c))."""
    xp = backend.get_array_module(x)
    xl = (xp.zeros if any(lo or hi for lo, hi in pads) else xp.empty)(
        (x.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)) +
        (x.shape[1],), x.dtype)
    st = xl.strides
    win = as_strided(xl, (xl.shape[0],) + tuple(out) + tuple(kernel) + (xl.shape[-1],),
                     (st[0],) + tuple(t * s for t, s in zip(st[1:-1], stride)) +
                     tuple(t * d for t, d in zip(st[1:-1], dilation)) + (st[-1],),
                     writeable=False)                                       # (N, *o, *k, C)
    cols, own = _pooled(win.shape, x.dtype, xp)
    return xl, win, cols, own


def _fill_rows(xp, x, xl, win, cols, pads, lo, hi) -> None:
    """Samples lo:hi of :func:`_unfold_rows`: x transposed channels-last into xl, then the
    windows copied into cols."""
    nd = x.ndim - 2
    xl[(slice(lo, hi),) + tuple(slice(p, p + n) for n, (p, _) in zip(x.shape[2:], pads))] = \
        x[lo:hi].transpose((0,) + tuple(range(2, 2 + nd)) + (1,))
    xp.copyto(cols[lo:hi], win[lo:hi])


def _work(elements: int, macs: int) -> int:
    """An op's work for :func:`split_batch`, in elements: those it copies plus its GEMM's
    multiply-adds at 32 per element (a core does about that many in the time one element is
    copied)."""
    return elements + macs // 32


def _out_shape(x_shape, w_shape, stride, dilation, pads) -> tuple:
    """The spatial output shape of a convolution of x (N, C, *S) with w (O, C/groups, *k)."""
    return tuple(out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi)
                 in zip(x_shape[2:], w_shape[2:], stride, dilation, pads))


def _add_in_order(sums: dict):
    """Σ of the ranges' partial sums {first sample: array}, added in sample order (in place in
    the first)."""
    keys = sorted(sums)
    total = sums[keys[0]]
    for k in keys[1:]:
        total += sums[k]
    return total


class Conv(Function):
    """z[n, o, *p] = b[o] + Σ_{c, κ} w[o, c, *κ] · x_pad[n, c, *(p·stride + κ·dilation)] (groups
    > 1 only on oneDNN, :func:`convolution` composes them otherwise),
    as im2col + one GEMM + an in-place bias, returning a contiguous (N, O, *out);
    ∂L/∂w = G·colsᵀ, ∂L/∂b = Σ G, ∂L/∂x = Σ_κ W_κᵀ·G added into the padded input (per offset;
    for 2-D, stride 1, dilation 1 as one GEMM over width-windows of G and kh row-shifted adds).
    Every NumPy GEMM first asks the BLAS thread policy (:func:`blas_threads_for`) for its shape;
    the 2-D products go through the GEMM dispatch (:func:`chainrule._blas.gemm.matmul`). On
    NumPy the per-sample work — im2col, the forward GEMM, the layout copies, ∂L/∂W's partial
    products (summed range by range in order) and the row-shift input gradient — runs over
    ranges of the batch on the intra-op threads (:func:`chainrule._blas.intraop.split_batch`).

    Columns are channels-last (rows N·L, columns K·C) when C > 1 — long contiguous runs — and the
    classic (C·K, N·L) for one channel. Under create_graph backward is spelled with Unfold/Fold
    and matmul, so it is differentiable to any order.
    """

    def forward(self, xp, x, w, b=None, stride=(), dilation=(), pads=(), groups=1):
        self.params = dict(kernel=tuple(w.shape[2:]), stride=stride, dilation=dilation,
                           pads=pads)
        self.in_shape, self.groups = x.shape, groups
        nd = w.ndim - 2
        o = w.shape[0]
        out = _out_shape(x.shape, w.shape, stride, dilation, pads)
        if min(out) <= 0:
            raise ValueError(f"conv: the kernel {tuple(w.shape[2:])} (dilation "
                             f"{tuple(dilation)}) does not fit the padded input {tuple(x.shape)}")
        self.out = out
        n, m = x.shape[0], x.shape[0] * math.prod(out)
        self.plan = None
        if m == 0:   # an empty batch: an empty output, zero gradients (PyTorch's behaviour)
            self.rows = None
            self.save(x, w, None)
            return xp.zeros((n, o) + out, x.dtype)
        self.plan = plan_for(x, w, b, stride, dilation, pads, out, groups) if xp is np else None
        if self.plan is not None:      # oneDNN's direct convolution (the onednn extra)
            self.rows = False
            self.save(x, w, None)
            return self.plan.forward(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                     None if b is None else np.ascontiguousarray(b))
        if groups != 1:   # convolution() sends groups > 1 here only when oneDNN takes them
            raise RuntimeError(f"conv: groups={groups} needs oneDNN's plan, which is unavailable")
        self.rows = x.shape[1] > 1
        l_ = m // n
        if self.rows:
            xl, win, cols, own = _unfold_rows(x, w.shape[2:], stride, dilation, pads, out)
            wr = w.transpose(tuple(range(2, 2 + nd)) + (1, 0)).reshape(-1, o)   # (K·C, O)
            z = xp.empty((n, o, l_), x.dtype)

            def rows_part(lo, hi):       # im2col, (M_part, K·C)·(K·C, O), bias, to (N, O, L)
                _fill_rows(xp, x, xl, win, cols, pads, lo, hi)
                blas_threads_for((hi - lo) * l_, o, wr.shape[0])
                zt = gemm(xp, cols[lo:hi].reshape((hi - lo) * l_, -1), wr)
                if b is not None:
                    zt += b
                z[lo:hi] = zt.reshape(hi - lo, l_, o).transpose(0, 2, 1)

            over_batch(xp, n, _work(cols.size, m * o * wr.shape[0]), rows_part)
            cols = cols.reshape(m, -1)                                          # (M, K·C)
        else:
            win = window_view(pad_array(x, pads), w.shape[2:], stride, dilation, out)
            win = win.transpose((1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) +
                                tuple(range(2, 2 + nd)))                        # (C, *k, N, *o)
            cols, own = _pooled(win.shape, x.dtype, xp)
            cols_n = cols.reshape(-1, n, l_)                                    # (C·K, N, L)
            at_n = (slice(None),) * (1 + nd)                        # the N axis of (C, *k, N, *o)
            w2 = w.reshape(o, -1)
            z = xp.empty((n, o, l_), x.dtype)

            def sample_part(lo, hi):     # one GEMM per sample writing (N, O, L) directly
                xp.copyto(cols[at_n + (slice(lo, hi),)], win[at_n + (slice(lo, hi),)])
                blas_threads_for(o, l_, cols_n.shape[0])
                xp.matmul(w2, cols_n[:, lo:hi].swapaxes(0, 1), out=z[lo:hi])
                if b is not None:
                    z[lo:hi] += b.reshape(o, 1)

            over_batch(xp, n, _work(cols.size, m * o * cols_n.shape[0]), sample_part)
            cols = cols.reshape(-1, m)                                          # (C·K, M)
        self.save(x, w, cols)       # saved, so the engine frees the columns after backward
        own(cols)
        return z.reshape((n, o) + out)

    def backward(self, xp, g):
        x, w, cols = self.saved
        nd = w.ndim - 2
        o = w.shape[0]
        need = self.needs_input_grad
        if isinstance(g, Tensor):
            return self._backward_graph(x, w, g, need)
        if self.rows is None:   # the empty batch: nothing reached the output
            grads = (xp.zeros(x.shape, g.dtype), xp.zeros(w.shape, g.dtype), xp.zeros(o, g.dtype))
            return tuple(gr if nd_ else None for gr, nd_ in zip(grads, need))
        if self.plan is not None:
            gx, gw, gb = self.plan.backward(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                            np.ascontiguousarray(g), need[0], need[1],
                                            len(need) > 2 and need[2])
            return (gx, gw) if len(need) == 2 else (gx, gw, gb)
        n = g.shape[0]
        gx = gw = gb = None
        gmo = None
        if self.rows or (need[0] and not self._row_shifts(xp)):
            gmo = xp.empty((cols.shape[0] if self.rows else cols.shape[1], o), g.dtype)
            gw_rows = self.rows and need[1]
            sums = self._gmo_and_weight_grad(xp, g, gmo, cols if gw_rows else None, n)
        if need[1]:
            if self.rows:
                gw = sums.reshape(tuple(w.shape[2:]) + (w.shape[1], o))
                gw = xp.ascontiguousarray(gw.transpose((nd + 1, nd) + tuple(range(nd))))
            else:
                gw = self._weight_grad_per_sample(xp, g, cols, n).reshape(w.shape)
        if len(need) > 2 and need[2]:
            gb = g.sum(axis=(0,) + tuple(range(2, 2 + nd)))
        if need[0]:
            gx = self._input_grad(g, gmo, w, n)
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)

    def _gmo_and_weight_grad(self, xp, g, gmo, cols, n):
        """G copied channels-last into gmo (M, O); with ``cols`` (M, K·C) also ∂L/∂W as colsᵀ·G
        (K·C, O), each range of samples adding its rows' product, the ranges' sums added in
        order. A range does both while its rows are in cache, and its GEMM uses the range's
        thread rather than the BLAS's pool (whose spinning helpers would compete with the
        split's threads right after)."""
        o = gmo.shape[1]
        gmo_n, g_t = gmo.reshape(n, -1, o), g.reshape(n, o, -1).transpose(0, 2, 1)
        per = gmo.shape[0] // n
        sums = {}

        def part(lo, hi):
            xp.copyto(gmo_n[lo:hi], g_t[lo:hi])
            if cols is not None:
                blas_threads_for(cols.shape[1], o, (hi - lo) * per)
                sums[lo] = gemm(xp, cols[lo * per:hi * per].T, gmo[lo * per:hi * per])

        over_batch(xp, n, g.size if cols is None else _work(cols.size, cols.size * o), part)
        return _add_in_order(sums) if cols is not None else None

    def _weight_grad_per_sample(self, xp, g, cols, n):
        """One channel: ∂L/∂W = Σ_n G_n · cols_nᵀ, one small GEMM per sample; the batch's
        ranges each sum their samples, then the ranges' sums are added in order."""
        o, l_ = g.shape[1], cols.shape[1] // n
        g_n, cols_t = g.reshape(n, o, -1), cols.reshape(-1, n, l_).transpose(1, 2, 0)
        sums = {}

        def part(lo, hi):
            blas_threads_for(o, cols.shape[0], l_)
            sums[lo] = xp.matmul(g_n[lo:hi], cols_t[lo:hi]).sum(0)

        over_batch(xp, n, _work(cols.size, cols.size * o), part)
        return _add_in_order(sums)

    def _input_grad(self, g, gmo, w, n):
        """Σ_κ (G·W_κ) (shape (N, *out, C)) added into a channels-last padded zero array at the
        slice offset κ reads, cropped and returned as (N, C, *S)."""
        p = self.params
        nd, c = w.ndim - 2, w.shape[1]
        padded = tuple(s + lo + hi for s, (lo, hi) in zip(self.in_shape[2:], p["pads"]))
        if type(g) is not np.ndarray:          # CUDA: one GEMM for every offset, one col2im
            wt = w.transpose((0,) + tuple(range(2, 2 + nd)) + (1,)).reshape(w.shape[0], -1)
            acc = backend.cuda_kernels("conv").col2im_rows(
                gmo @ wt, n, padded, p["kernel"], p["stride"], p["dilation"], self.out, c)
            acc = crop(acc, p["pads"], 1)
            return acc.transpose((0, nd + 1) + tuple(range(1, nd + 1)))
        if self._row_shifts(np):
            return self._input_grad_row_shifts(g, w, padded)
        kk = math.prod(p["kernel"])
        wk = np.ascontiguousarray(w.transpose(tuple(range(2, 2 + nd)) + (0, 1))).reshape(
            kk, w.shape[0], c)                                                  # (K, O, C)
        acc = np.zeros((n,) + padded + (c,), dtype=gmo.dtype)
        tmp = np.empty((gmo.shape[0], c), gmo.dtype)
        part = tmp.reshape((n,) + self.out + (c,))
        blas_threads_for(gmo.shape[0], c, w.shape[0])
        for i, off in enumerate(itertools.product(*(range(k) for k in p["kernel"]))):
            np.matmul(gmo, wk[i], out=tmp)
            acc[(slice(None),) + offset_slices(off, p["stride"], p["dilation"], self.out)] += part
        acc = crop(acc, p["pads"], 1)
        return acc.transpose((0, nd + 1) + tuple(range(1, nd + 1)))

    def _input_grad_row_shifts(self, g, w, padded):
        """2-D, stride 1, dilation 1: gx_pad[n, c, y, x] = Σ_a T[a, c, n, y − a, x] with
        T = W_b · cols, cols[(b, o), (n, y, x)] = g[n, o, y, x − b] (zero outside) — im2col
        along the width only, one GEMM of (kh·C) × (kw·O) × (N·OH·Wp), then kh shifted row adds
        (each a contiguous run of OH·Wp per (c, n))."""
        o, c, kh, kw = w.shape
        n, (oh, ow), (hp, wp) = g.shape[0], self.out, padded
        wb = w[:, :, :, ::-1].transpose(2, 1, 3, 0).reshape(kh * c, kw * o)   # (a, c) × (b', o)
        acc = np.empty((c, n, hp, wp), g.dtype)

        def part(lo, hi):
            nn = hi - lo
            gp = np.zeros((o, nn, oh, ow + 2 * (kw - 1)), g.dtype)
            gp[:, :, :, kw - 1:kw - 1 + ow] = g[lo:hi].transpose(1, 0, 2, 3)
            s = gp.strides                 # window b' = kw − 1 − b reads gp[o, n, y, x + b']
            cols = np.empty((kw, o, nn, oh, wp), g.dtype)
            np.copyto(cols, as_strided(gp, cols.shape, (s[3], s[0], s[1], s[2], s[3])))
            blas_threads_for(kh * c, nn * oh * wp, kw * o)
            t = gemm(np, wb, cols.reshape(kw * o, -1)).reshape(kh, c, nn, oh, wp)
            mine = acc[:, lo:hi]
            mine[:, :, oh:] = 0
            mine[:, :, :oh] = t[0]
            for a in range(1, kh):
                mine[:, :, a:a + oh] += t[a]

        shifted = kw * o * n * oh * wp               # the width-window copy of G
        split_batch(n, _work(acc.size + shifted, shifted * kh * c), part)
        return crop(acc, self.params["pads"], 2).transpose(1, 0, 2, 3)

    def _row_shifts(self, xp) -> bool:
        """Whether the input gradient takes :meth:`_input_grad_row_shifts` (NumPy, 2-D,
        stride 1, dilation 1), which reads G in NCHW and needs no channels-last copy of it."""
        p = self.params
        return xp is np and len(p["kernel"]) == 2 and p["stride"] == (1, 1) and \
            p["dilation"] == (1, 1)

    def _backward_graph(self, x, w, g, need):
        """The same gradients with differentiable ops (create_graph), group by group: with
        G (O, M) and W (O, C/g·K) split into g blocks of rows, ∂L/∂cols = Wᵀ·G and
        ∂L/∂W = G·colsᵀ per group."""
        from .reduction import sum as rsum
        nd = w.ndim - 2
        o, gr = w.shape[0], self.groups
        m = g.shape[0] * math.prod(self.out)
        gom = reshape(transpose(g, (1, 0) + tuple(range(2, 2 + nd))), (gr, o // gr, m))
        w2 = reshape(w, (gr, o // gr, math.prod(w.shape[1:])))
        gx = gw = gb = None
        if need[0]:
            gcols = reshape(matmul(transpose(w2, (0, 2, 1)), gom),
                            (self.in_shape[1],) + tuple(w.shape[2:]) + (g.shape[0],) + self.out)
            gx = Fold.apply(gcols, in_shape=self.in_shape, **self.params)
        if need[1]:
            cols = reshape(Unfold.apply(x, **self.params), (gr, w2.shape[2], m))
            gw = reshape(matmul(gom, transpose(cols, (0, 2, 1))), tuple(w.shape))
        if len(need) > 2 and need[2]:
            gb = reshape(rsum(gom, axis=2), (o,))
        return (gx, gw) if len(need) == 2 else (gx, gw, gb)


def convolution(x, w, b=None, stride=(1,), pads=((0, 0),), dilation=(1,), groups: int = 1):
    """z[n, o, *p] = b[o] + Σ_{c, κ} w[o, c, *κ] · x_pad[n, g(o)·C/groups + c, *(p·stride +
    κ·dilation)], for x (N, C, *S) and w (O, C/groups, *k), as unfold + one (batched) GEMM."""
    nd = w.ndim - 2
    o, cg = w.shape[:2]
    if groups == 1 or _onednn_takes(x, w, b, stride, pads, dilation, groups):
        args = (x, w) if b is None else (x, w, b)
        extra = {} if groups == 1 else {"groups": int(groups)}
        return Conv.apply(*args, stride=tuple(stride), dilation=tuple(dilation), pads=tuple(pads),
                          **extra)
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


def _onednn_takes(x, w, b, stride, pads, dilation, groups) -> bool:
    """Whether oneDNN has a plan for this grouped convolution (float32 NumPy operands)."""
    xd, wd = getattr(x, "_data", None), getattr(w, "_data", None)
    if type(xd) is not np.ndarray or type(wd) is not np.ndarray:
        return False
    out = _out_shape(xd.shape, wd.shape, stride, dilation, pads)
    if not out or min(out) <= 0 or xd.shape[0] == 0:
        return False
    return plan_for(xd, wd, None if b is None else b._data, stride, dilation, pads, out,
                    groups) is not None
