"""Op-table rows for numerical edges (issue #13): inputs exactly at every piecewise op's switch
points (kinks, thresholds, clamp bounds, where PyTorch's gradient convention at equality is what
is compared), ties (values drawn from a few small integers, for every op whose gradient depends
on which inputs are equal), and the precision of pow's gradient in float32. Switch points and
ties are not differentiable, so these rows skip the finite-difference gradcheck; the PyTorch
comparison (forward and gradient) is the test."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.api.math import vector_norm
from tests.optable import Op, MAX_SIDE, at, broadcast, reduce_dims, unary
from tests.ops.rows_conv import _pool
from tests.ops.rows_math import _clamp_shapes, _topk

TF = torch.nn.functional
INF = float("inf")


def _edge(name, fn, tfn, shapes, domain, **kw):
    return Op(name, fn, tfn, shapes, domain=domain, gradcheck=False, **kw)


def _nonneg(*points):
    """|at(points)|: a non-negative domain with the points (0 among them) hit often."""
    inner = at(*points)
    return lambda rng, shape: np.abs(inner(rng, shape))


# -- pow at 0 and y = 0 --------------------------------------------------------------------------
def _pow_edges(rng, shapes, dtype):
    """Bases at 0, 1 and positive; exponents at 0, 1, 2, ½ and positive (0⁰, 0^½, 0², x⁰)."""
    x = np.where(rng.random(shapes[0]) < 0.6, rng.choice([0.0, 1.0], shapes[0]),
                 rng.uniform(0.5, 2.0, shapes[0]))
    y = np.where(rng.random(shapes[1]) < 0.6, rng.choice([0.0, 1.0, 2.0, 0.5], shapes[1]),
                 rng.uniform(0.5, 2.0, shapes[1]))
    return [x.astype(dtype), y.astype(dtype)]


# -- losses at their switch points ---------------------------------------------------------------
@st.composite
def _pair(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=MAX_SIDE))
    return [shape, shape], {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


def _at_distance(d):
    """Targets at small integers, inputs at target ± d (exact in binary for d ∈ {0, ½, 1, 2}),
    at the target itself, or anywhere: |x − t| sits on the loss's switch point d."""
    def make(rng, shapes, dtype):
        t = rng.integers(-2, 3, shapes[1]).astype(float)
        s = rng.choice([-1.0, 0.0, 1.0, 1.0, -1.0], shapes[0])
        x = np.where(rng.random(shapes[0]) < 0.8, t + s * d, rng.standard_normal(shapes[0]))
        return [x.astype(dtype), t.astype(dtype)]
    return make


def _loss_rows():
    rows = []
    for d in (0.5, 1.0, 2.0):
        rows.append(Op(f"huber_loss_at_delta_{d}", lambda x, t, d=d, **k: F.huber_loss(
            x, t, delta=d, **k), lambda x, t, d=d, **k: TF.huber_loss(x, t, delta=d, **k),
            _pair(), make=_at_distance(d), gradcheck=False))
    for d in (0.0, 0.5, 1.0):
        rows.append(Op(f"smooth_l1_loss_at_beta_{d}", lambda x, t, d=d, **k: F.smooth_l1_loss(
            x, t, beta=d, **k), lambda x, t, d=d, **k: TF.smooth_l1_loss(x, t, beta=d, **k),
            _pair(), make=_at_distance(d), gradcheck=False))
    rows.append(Op("l1_loss_at_0", F.l1_loss, TF.l1_loss, _pair(), make=_at_distance(0.0),
                   gradcheck=False))
    rows.append(Op("mse_loss_at_0", F.mse_loss, TF.mse_loss, _pair(), make=_at_distance(0.0),
                   gradcheck=False))
    return rows


# -- prelu at 0 ------------------------------------------------------------------------------------
@st.composite
def _prelu(draw):
    n, c = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    return [(n, c) + draw(st.sampled_from([(), (3,)])), draw(st.sampled_from([(1,), (c,)]))], {}


def _prelu_make(rng, shapes, dtype):
    return [at(0.0)(rng, shapes[0]).astype(dtype), rng.uniform(0.1, 0.5, shapes[1]).astype(dtype)]


SWITCH = [
    # activations at their kinks and thresholds
    _edge("relu_at_0", cr.relu, torch.relu, unary(), at(0.0)),
    _edge("leaky_relu_at_0", lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1),
          unary(), at(0.0)),
    _edge("elu_at_0", F.elu, TF.elu, unary(), at(0.0)),
    _edge("elu_alpha_at_0", lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0), unary(), at(0.0)),
    _edge("gelu_at_0", F.gelu, TF.gelu, unary(), at(0.0)),
    _edge("gelu_tanh_at_0", lambda x: F.gelu(x, approximate="tanh"),
          lambda x: TF.gelu(x, approximate="tanh"), unary(), at(0.0)),
    _edge("softplus_at_threshold", F.softplus, TF.softplus, unary(), at(20.0, -20.0, 0.0,
                                                                        spread=10.0)),
    _edge("softplus_beta_at_threshold", lambda x: F.softplus(x, beta=2.0, threshold=1.5),
          lambda x: TF.softplus(x, beta=2.0, threshold=1.5), unary(), at(0.75, 0.0)),
    Op("prelu_at_0", F.prelu, TF.prelu, _prelu(), make=_prelu_make, gradcheck=False),
    _edge("step_at_0", cr.step, lambda x: (x > 0).to(x.dtype) + 0 * x, unary(), at(0.0)),
    # clamp at its bounds: PyTorch's gradient is 1 at x = min and x = max (inclusive)
    _edge("clamp_at_bounds", lambda x: cr.clamp(x, -0.5, 0.5),
          lambda x: torch.clamp(x, -0.5, 0.5), unary(), at(-0.5, 0.5)),
    _edge("clamp_min_at_bound", lambda x: cr.clamp(x, min=0.25),
          lambda x: torch.clamp(x, min=0.25), unary(), at(0.25)),
    _edge("clamp_max_at_bound", lambda x: cr.clamp(x, max=0.25),
          lambda x: torch.clamp(x, max=0.25), unary(), at(0.25)),
    _edge("clamp_equal_bounds", lambda x: cr.clamp(x, 0.5, 0.5),
          lambda x: torch.clamp(x, 0.5, 0.5), unary(), at(0.5)),
    _edge("clip_at_bounds", lambda x: cr.clip(x, -1.0, 0.5), lambda x: torch.clip(x, -1.0, 0.5),
          unary(), at(-1.0, 0.5)),
    # |x|, √x, log x, powers at 0 (PyTorch: d|x| = 0, d√x = ∞, d log x = ∞ there)
    _edge("abs_at_0", cr.abs, torch.abs, unary(), at(0.0)),
    _edge("sqrt_at_0", cr.sqrt, torch.sqrt, unary(), _nonneg(0.0)),
    _edge("rsqrt_at_0", cr.rsqrt, torch.rsqrt, unary(), _nonneg(0.0)),
    _edge("log_at_0", cr.log, torch.log, unary(), _nonneg(0.0)),
    _edge("log1p_at_minus_1", cr.log1p, torch.log1p, unary(),
          lambda rng, shape: _nonneg(0.0)(rng, shape) - 1.0),
    *[_edge(f"pow_scalar_{p}_at_0", lambda x, p=p: x ** p, lambda x, p=p: x ** p, unary(),
            _nonneg(0.0)) for p in (2, 3, 0.5, -1.5, 0, 1)],
    Op("pow_tensor_at_0", cr.pow, torch.pow, broadcast(), make=_pow_edges, gradcheck=False),
    *_loss_rows(),
]


# -- pow's gradient in float32 at a tight tolerance ----------------------------------------------
PRECISION = [
    # ∂(bʸ)/∂y = bʸ·ln b: ln b must come from the number b, not from b rounded to float32
    # (for b = 1.001 that rounding alone is a 5e-5 relative error)
    Op(f"pow_number_base_{b}", lambda y, b=b: b ** y, lambda y, b=b: b ** y, unary(),
       rtol32=2e-6, atol32=1e-9) for b in (1.001, 0.999, 2.5, 10.0)
] + [
    Op("pow_fn_number_base", lambda y: cr.pow(1.001, y), lambda y: torch.pow(1.001, y), unary(),
       rtol32=2e-6, atol32=1e-9),
    Op("pow_tensor_float32", cr.pow, torch.pow, broadcast(), domain="positive", rtol32=2e-6,
       atol32=1e-6),
]


# -- ties ------------------------------------------------------------------------------------------
def _tie(name, fn, tfn, shapes, **kw):
    return Op(name, fn, tfn, shapes, domain="ties", gradcheck=False, **kw)


def _ties_clamp_make(rng, shapes, dtype):
    """x, lo, hi all small integers: x = lo, x = hi, lo = hi and lo > hi all occur."""
    return [rng.integers(-2, 3, s).astype(dtype) for s in shapes]


TIES = [
    # amax/amin: the gradient is shared evenly among the tied maxima
    _tie("amax_ties", cr.amax, torch.amax, reduce_dims(allow_none=False)),
    _tie("amin_ties", cr.amin, torch.amin, reduce_dims(allow_none=False)),
    _tie("max_all_ties", cr.max, torch.max, unary()),
    _tie("min_all_ties", cr.min, torch.min, unary()),
    # max/min with dim: the whole gradient goes to the returned (first) index
    _tie("max_dim_ties", cr.max, torch.max, reduce_dims(multi=False, allow_none=False)),
    _tie("min_dim_ties", cr.min, torch.min, reduce_dims(multi=False, allow_none=False)),
    _tie("argmax_ties", cr.argmax, torch.argmax, reduce_dims(multi=False), grad=False),
    _tie("argmin_ties", cr.argmin, torch.argmin, reduce_dims(multi=False), grad=False),
    # maximum/minimum at equality: half to each
    _tie("maximum_ties", cr.maximum, torch.maximum, broadcast()),
    _tie("minimum_ties", cr.minimum, torch.minimum, broadcast()),
    # clamp with tensor bounds at x = lo, x = hi, lo = hi, lo > hi
    Op("clamp_tensor_bounds_ties", lambda x, lo, hi: cr.clamp(x, lo, hi),
       lambda x, lo, hi: torch.clamp(x, lo, hi), _clamp_shapes(), make=_ties_clamp_make,
       gradcheck=False),
    Op("clamp_tensor_min_ties", lambda x, lo, hi: cr.clamp(x, min=lo),
       lambda x, lo, hi: torch.clamp(x, min=lo), _clamp_shapes(), make=_ties_clamp_make,
       gradcheck=False),
    Op("clamp_tensor_max_ties", lambda x, lo, hi: cr.clamp(x, max=hi),
       lambda x, lo, hi: torch.clamp(x, max=hi), _clamp_shapes(), make=_ties_clamp_make,
       gradcheck=False),
    _tie("clamp_scalar_ties", lambda x: cr.clamp(x, -1, 1), lambda x: torch.clamp(x, -1, 1),
         unary()),
    _tie("relu_ties", cr.relu, torch.relu, unary()),
    _tie("abs_ties", cr.abs, torch.abs, unary()),
    # the ∞-norms route the gradient through the (tied) largest magnitudes
    _tie("vector_norm_inf_ties", vector_norm, torch.linalg.vector_norm,
         reduce_dims().map(lambda a: (a[0], {**a[1], "ord": INF}))),
    _tie("vector_norm_neg_inf_ties", vector_norm, torch.linalg.vector_norm,
         reduce_dims().map(lambda a: (a[0], {**a[1], "ord": -INF}))),
    # pooling: the gradient of a tied window goes to its first maximum
    _tie("max_pool1d_ties", F.max_pool1d, TF.max_pool1d, _pool(1, "max")),
    _tie("max_pool2d_ties", F.max_pool2d, TF.max_pool2d, _pool(2, "max")),
    # top-k of tied rows: the values; which tied element PyTorch returns (so which receives
    # the gradient) is its implementation's choice, not a documented rule, so it is not compared
    _tie("topk_ties_values", lambda x, **k: cr.topk(x, **k)[0],
         lambda x, **k: torch.topk(x, **k)[0], _topk(), grad=False),
]

ROWS = [dataclasses.replace(r, tags=r.tags + ("edge",)) for r in SWITCH + PRECISION + TIES]
