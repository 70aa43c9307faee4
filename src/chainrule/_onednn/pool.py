"""Max pooling through oneDNN's primitives, on NCHW (plain) layouts.

z = the maximum of each window (padding never wins), and ∂L/∂x = ∂L/∂z at each window's
maximum, which the forward records in a workspace (the position of the first maximum, ties
going to the earliest offset as in PyTorch). On plain layouts oneDNN picks its
``jit:avx512_core`` kernels: on a 2-core EPYC 0.19 + 0.19 ms for workload B's first pool
(64×16×24×24) against 1.40 ms for chainrule's NumPy forward + backward. oneDNN's maximum does
not propagate NaN as PyTorch's does, so an input holding NaN takes the NumPy path.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .library import (DIFF_DST, DIFF_SRC, DST, Q_DIFF_DST, Q_DIFF_SRC, Q_DST, Q_SRC,
                      Q_WORKSPACE, SRC, WORKSPACE, Dims, Handles, P, PlanCache, aligned,
                      args, plain_tag, usable)

__all__ = ["MaxPoolPlan", "plan_for"]

FORWARD_TRAINING = 64          # dnnl_forward_training
POOLING_MAX = 0x1FF            # dnnl_pooling_max

_plans = PlanCache()


class MaxPoolPlan:
    """The forward and backward primitives of one max-pooling configuration."""

    def __init__(self, lib, x_shape, z_shape, kernel, stride, dilation, pads):
        self.lib, self.shapes = lib, (tuple(x_shape), tuple(z_shape))
        self.handles = h = Handles(lib)
        tag = plain_tag(len(x_shape))
        src, dst = lib.md(x_shape, tag, h), lib.md(z_shape, tag, h)
        geometry = (Dims(*stride), Dims(*kernel), Dims(*(d - 1 for d in dilation)),
                    Dims(*(lo for lo, _ in pads)), Dims(*(hi for _, hi in pads)))
        self.fwd_pd, self.bwd_pd = P(), P()
        lib.check(lib.pooling_forward_primitive_desc_create(
            ctypes.byref(self.fwd_pd), lib.engine, FORWARD_TRAINING, POOLING_MAX, src, dst,
            *geometry, None), f"max pooling forward {self.shapes}")
        h.add("primitive_desc", self.fwd_pd)
        lib.check(lib.pooling_backward_primitive_desc_create(
            ctypes.byref(self.bwd_pd), lib.engine, POOLING_MAX, src, dst, *geometry,
            self.fwd_pd, None), f"max pooling backward {self.shapes}")
        h.add("primitive_desc", self.bwd_pd)
        self.fwd, self.bwd = lib.primitive(self.fwd_pd, h), lib.primitive(self.bwd_pd, h)
        ws = lib.query_md(self.fwd_pd, Q_WORKSPACE)
        self.ws_bytes = lib.size(ws)
        f, b = (lambda w: lib.query_md(self.fwd_pd, w)), (lambda w: lib.query_md(self.bwd_pd, w))
        self.m = {"x": lib.memory(f(Q_SRC), h), "z": lib.memory(f(Q_DST), h),
                  "ws": lib.memory(ws, h), "g": lib.memory(b(Q_DIFF_DST), h),
                  "gx": lib.memory(b(Q_DIFF_SRC), h)}

    def impls(self) -> dict:
        return {"forward": self.lib.impl(self.fwd_pd), "backward": self.lib.impl(self.bwd_pd)}

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, workspace): the maxima and where they were, the latter for :meth:`backward`."""
        lib, m = self.lib, self.m
        z = np.empty(self.shapes[1], np.float32)
        ws = aligned(self.ws_bytes)
        with lib.lock:
            lib.bind(m["x"], x)
            lib.bind(m["z"], z)
            lib.bind(m["ws"], ws)
            lib.policy_threads()
            lib.execute(self.fwd, args((SRC, m["x"]), (DST, m["z"]), (WORKSPACE, m["ws"])))
            lib.wait()
        return z, ws

    def backward(self, g: np.ndarray, ws: np.ndarray) -> np.ndarray:
        """∂L/∂x for ∂L/∂z = ``g`` and the forward's workspace."""
        lib, m = self.lib, self.m
        gx = np.empty(self.shapes[0], np.float32)
        with lib.lock:
            lib.bind(m["g"], g)
            lib.bind(m["gx"], gx)
            lib.bind(m["ws"], ws)
            lib.policy_threads()
            lib.execute(self.bwd, args((DIFF_DST, m["g"]), (DIFF_SRC, m["gx"]),
                                       (WORKSPACE, m["ws"])))
            lib.wait()
        return gx


def plan_for(x, z_shape, kernel, stride, dilation, pads) -> MaxPoolPlan | None:
    """The cached plan when oneDNN should pool ``x``: a float32 C-contiguous NumPy array of
    1-D to 3-D samples without NaN, oneDNN usable; else None."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or not 3 <= x.ndim <= 5 or \
            not x.flags.c_contiguous or x.size == 0:
        return None
    lib = usable()
    if lib is None or np.isnan(x.max()):
        return None
    key = (x.shape, tuple(kernel), tuple(stride), tuple(dilation), tuple(pads))
    return _plans.get(key, lambda: MaxPoolPlan(lib, x.shape, z_shape, kernel, stride,
                                               dilation, pads))
