"""Convolution through oneDNN's primitives: forward, ∂L/∂W with ∂L/∂b, and ∂L/∂x.

oneDNN computes the same sums as chainrule's im2col + GEMM (``ops/conv.py`` states them) with
direct-convolution kernels on blocked layouts: it picks the layouts (``any``), and reorders
convert between them and the C-contiguous NCHW/OIHW arrays NumPy holds. One :class:`ConvPlan`
per configuration (shapes, stride, dilation, padding, bias, groups) holds the primitive descriptors,
the JIT-compiled primitives and the blocked buffers, built once and reused (and released
when the plan leaves the cache and no graph node holds it any more); PyTorch's CPU
convolution (``mkldnn_convolution``) takes the same route. Only float32 NumPy arrays go this
way; everything else, and any process that forked after oneDNN started (GNU OpenMP's threads do
not survive a fork), uses the NumPy path.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .library import (BIAS, DIFF_BIAS, DIFF_DST, DIFF_SRC, DIFF_WEIGHTS, DST, P, Q_DIFF_DST,
                      Q_DIFF_SRC, Q_DIFF_WEIGHTS, Q_DST, Q_SRC, Q_WEIGHTS, SRC, TAG_ANY, WEIGHTS,
                      Dims, Handles, PlanCache, aligned, args, plain_tag, usable)

__all__ = ["plan_for", "enabled", "ConvPlan"]

FORWARD_TRAINING = 64          # dnnl_forward_training
DIRECT = 1                     # dnnl_convolution_direct
#: below this many input channels ∂L/∂x runs on plain layouts (oneDNN's blocked backward-data
#: kernel pads C to 16 and ran 3–5× slower than its plain GEMM one at C = 1 on a 2-core EPYC)
BLOCKED_DATA_MIN_C = 8
_CACHE_MAX = 64

_plans = PlanCache(_CACHE_MAX)


def enabled() -> bool:
    """Whether a float32 NumPy convolution would use oneDNN now."""
    return usable() is not None


class _Slot:
    """One argument of a primitive: the user's C-contiguous layout, the one the primitive chose,
    and, where they differ, a blocked buffer and the reorder between them."""

    def __init__(self, lib, user_md, chosen_md, into_primitive: bool, owner: Handles):
        self.lib, self.md = lib, chosen_md
        self.user = lib.memory(user_md, owner)
        self.direct = lib.same(user_md, chosen_md)
        if self.direct:
            self.mem = self.user
        else:
            self.buf = aligned(lib.size(chosen_md))
            self.mem = lib.memory(chosen_md, owner)
            lib.bind(self.mem, self.buf)
            src, dst = (self.user, self.mem) if into_primitive else (self.mem, self.user)
            self.reorder = lib.reorder(user_md if into_primitive else chosen_md,
                                       chosen_md if into_primitive else user_md, owner)
            self.reorder_args = args((SRC, src), (DST, dst))

    def put(self, array: np.ndarray) -> P:
        """``array`` as the primitive's input (reordered into the blocked buffer if needed)."""
        self.lib.bind(self.user, array)
        if not self.direct:
            self.lib.execute(self.reorder, self.reorder_args)
        return self.mem

    def target(self, array: np.ndarray) -> P:
        """Where the primitive writes an output that ends up in ``array``."""
        self.lib.bind(self.user, array)
        return self.mem

    def take(self) -> None:
        """Reorder the primitive's output into the user's array (after :meth:`target`)."""
        if not self.direct:
            self.lib.execute(self.reorder, self.reorder_args)


class ConvPlan:
    """The primitives of one convolution configuration; forward and backward run on them."""

    def __init__(self, lib, x_shape, w_shape, y_shape, bias: bool, stride, dilation, pads,
                 groups: int = 1):
        self.lib, self.handles = lib, Handles(lib)
        h = self.handles
        self.shapes = tuple(x_shape), tuple(w_shape), tuple(y_shape)
        self.bias = bias
        nd = len(w_shape) - 2
        self.geometry = (Dims(*stride), Dims(*(d - 1 for d in dilation)),
                         Dims(*(lo for lo, _ in pads)), Dims(*(hi for _, hi in pads)))
        # grouped weights (O, C/g, *k) are oneDNN's (g, O/g, C/g, *k): the same C-contiguous bytes
        wdims = self.shapes[1] if groups == 1 else \
            (groups, w_shape[0] // groups) + tuple(w_shape[1:])
        dims = {"x": self.shapes[0], "w": wdims, "y": self.shapes[2]}
        self.user = {k: lib.md(d, plain_tag(len(d)), h) for k, d in dims.items()}
        self.user["b"] = lib.md((w_shape[0],), plain_tag(1), h)
        anym = {k: lib.md(d, TAG_ANY, h) for k, d in dims.items()}
        self.fwd_pd = P()
        lib.check(lib.convolution_forward_primitive_desc_create(
            ctypes.byref(self.fwd_pd), lib.engine, FORWARD_TRAINING, DIRECT, anym["x"],
            anym["w"], self.user["b"] if bias else None, anym["y"], *self.geometry, None),
            f"convolution forward {self.shapes}")
        h.add("primitive_desc", self.fwd_pd)
        self.fwd = lib.primitive(self.fwd_pd, h)
        q = lambda what: lib.query_md(self.fwd_pd, what)  # noqa: E731
        self.f_src = _Slot(lib, self.user["x"], q(Q_SRC), True, h)
        self.f_w = _Slot(lib, self.user["w"], q(Q_WEIGHTS), True, h)
        self.f_dst = _Slot(lib, self.user["y"], q(Q_DST), False, h)
        self.f_b = lib.memory(self.user["b"], h)
        self._any = anym
        self._bwd_w = self._bwd_d = None

    def impls(self) -> dict:
        """The implementation oneDNN chose for each primitive built so far."""
        out = {"forward": self.lib.impl(self.fwd_pd)}
        if self._bwd_w is not None:
            out["weights"] = self.lib.impl(self._bwd_w[0])
        if self._bwd_d is not None:
            out["data"] = self.lib.impl(self._bwd_d[0])
        return out

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """z = conv(x, w) + b as a new C-contiguous array."""
        lib = self.lib
        y = np.empty(self.shapes[2], np.float32)
        with lib.lock:
            lib.policy_threads()
            pairs = [(SRC, self.f_src.put(x)), (WEIGHTS, self.f_w.put(w)),
                     (DST, self.f_dst.target(y))]
            if self.bias:
                lib.bind(self.f_b, b)
                pairs.append((BIAS, self.f_b))
            lib.execute(self.fwd, args(*pairs))
            self.f_dst.take()
            lib.wait()
        return y

    def _weights_primitive(self):
        if self._bwd_w is None:
            lib, pd = self.lib, P()
            lib.check(lib.convolution_backward_weights_primitive_desc_create(
                ctypes.byref(pd), lib.engine, DIRECT, self._any["x"], self._any["w"],
                self.user["b"] if self.bias else None, self._any["y"], *self.geometry,
                self.fwd_pd, None), f"convolution backward weights {self.shapes}")
            h = self.handles
            h.add("primitive_desc", pd)
            q = lambda what: lib.query_md(pd, what)  # noqa: E731
            self._bwd_w = (pd, lib.primitive(pd, h), _Slot(lib, self.user["x"], q(Q_SRC), True, h),
                           _Slot(lib, self.user["y"], q(Q_DIFF_DST), True, h),
                           _Slot(lib, self.user["w"], q(Q_DIFF_WEIGHTS), False, h),
                           lib.memory(self.user["b"], h))
        return self._bwd_w

    def _data_primitive(self):
        if self._bwd_d is None:
            lib, pd = self.lib, P()
            blocked = self.shapes[0][1] >= BLOCKED_DATA_MIN_C
            m = self._any if blocked else self.user
            lib.check(lib.convolution_backward_data_primitive_desc_create(
                ctypes.byref(pd), lib.engine, DIRECT, m["x"], m["w"], m["y"], *self.geometry,
                self.fwd_pd, None), f"convolution backward data {self.shapes}")
            h = self.handles
            h.add("primitive_desc", pd)
            q = lambda what: lib.query_md(pd, what)  # noqa: E731
            self._bwd_d = (pd, lib.primitive(pd, h),
                           _Slot(lib, self.user["y"], q(Q_DIFF_DST), True, h),
                           _Slot(lib, self.user["w"], q(Q_WEIGHTS), True, h),
                           _Slot(lib, self.user["x"], q(Q_DIFF_SRC), False, h))
        return self._bwd_d

    def backward(self, x, w, g, need_x: bool, need_w: bool, need_b: bool) -> tuple:
        """(∂L/∂x, ∂L/∂w, ∂L/∂b) for the output gradient ``g`` (None where not needed)."""
        lib = self.lib
        gx = gw = gb = None
        g_in = None       # (layout, memory) of g already reordered for ∂L/∂W, reused for ∂L/∂x
        with lib.lock:
            lib.policy_threads()
            if need_w or (need_b and self.bias):
                _, prim, src, ddst, dw, db = self._weights_primitive()
                gw = np.empty(self.shapes[1], np.float32)
                g_in = (ddst.md, ddst.put(g))
                pairs = [(SRC, src.put(x)), (DIFF_DST, g_in[1]),
                         (DIFF_WEIGHTS, dw.target(gw))]
                if self.bias:
                    gb = np.empty(self.shapes[1][0], np.float32)
                    lib.bind(db, gb)
                    pairs.append((DIFF_BIAS, db))
                lib.execute(prim, args(*pairs))
                dw.take()
            if need_x:
                _, prim, ddst, wslot, dsrc = self._data_primitive()
                gx = np.empty(self.shapes[0], np.float32)
                same = g_in is not None and lib.same(g_in[0], ddst.md)
                lib.execute(prim, args((DIFF_DST, g_in[1] if same else ddst.put(g)),
                                       (WEIGHTS, wslot.put(w)), (DIFF_SRC, dsrc.target(gx))))
                dsrc.take()
            lib.wait()
        return gx, (gw if need_w else None), (gb if need_b else None)


def plan_for(x, w, b, stride, dilation, pads, out, groups: int = 1) -> ConvPlan | None:
    """The cached plan for this convolution (``groups`` as PyTorch's) when oneDNN should run
    it, else None: float32 NumPy arrays, 1-D to 3-D, oneDNN installed and enabled, not in a
    forked child."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or w.dtype != np.float32 or \
            (b is not None and b.dtype != np.float32) or not 3 <= x.ndim <= 5:
        return None
    lib = usable()
    if lib is None:
        return None
    key = (x.shape, w.shape, b is not None, tuple(stride), tuple(dilation), tuple(pads), groups)
    return _plans.get(key, lambda: ConvPlan(lib, x.shape, w.shape, (x.shape[0], w.shape[0]) +
                                            tuple(out), b is not None, stride, dilation, pads,
                                            groups))
