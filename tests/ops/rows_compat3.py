"""Op-table rows for the nn-functional breadth of issue #18 (part 3): the bounded activations
(also on their switch points, where the gradient is 0 as PyTorch's), mish, softsign, tanhshrink,
logsigmoid, cosine_similarity, pairwise_distance, normalize, kl_div (every reduction, log_target),
adaptive_max_pool1d/2d, unfold/fold and instance_norm."""
from __future__ import annotations

import warnings

import numpy as np
import torch
from hypothesis import strategies as st

import chainrule.nn.functional as F
from tests.optable import Op, at, unary

TF = torch.nn.functional


@st.composite
def _pair_dim(draw):
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3))))
    other = tuple(1 if draw(st.integers(0, 3)) == 0 else n for n in shape)
    return [shape, other], {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def _pairwise(draw):
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 2))))
    return [shape, shape], {"p": draw(st.sampled_from([1.0, 2.0, 3.0])),
                            "keepdim": draw(st.booleans())}


@st.composite
def _normalize(draw):
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3))))
    return [shape], {"p": draw(st.sampled_from([1.0, 2.0, 3.0])),
                     "dim": draw(st.integers(-len(shape), len(shape) - 1))}


def _kl_make(rng, shapes, dtype):
    x = np.log(rng.dirichlet(np.ones(shapes[0][-1]), size=shapes[0][:-1])).astype(dtype)
    t = rng.dirichlet(np.ones(shapes[0][-1]), size=shapes[0][:-1]).astype(dtype)
    return [x, t]


@st.composite
def _kl(draw):
    shape = (draw(st.integers(1, 3)), draw(st.integers(2, 4)))
    return [shape, shape], {"reduction": draw(st.sampled_from(["none", "sum", "mean",
                                                                "batchmean"])),
                            "log_target": draw(st.booleans())}


def _torch_hardsigmoid(x):
    """PyTorch's hardsigmoid with the exact 1/6 slope: its own backward multiplies by 1/6
    rounded to float32 even for float64 (a 5e-9 relative difference), so the float64 gradient is
    compared with this equal composition (same zero gradient on ±3); float32 rows and the
    forward below use TF.hardsigmoid itself."""
    return TF.hardtanh(x, -3.0, 3.0) / 6 + 0.5


def _quiet(fn):
    def call(*a, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # reduction='mean' warns in both libraries
            return fn(*a, **kw)
    return call


@st.composite
def _adaptive_max(draw, nd):
    sizes = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))[:draw(st.integers(1, 2))]
    out = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    kw = {"output_size": out if nd > 1 else out[0], "return_indices": draw(st.booleans())}
    return [lead + sizes], kw


@st.composite
def _unfold(draw, fold=False):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(d_ * (k_ - 1) + 1 - 2 * p_ + draw(st.integers(0, 3))
                 for k_, d_, p_ in zip(k, d, p))
    size = tuple(max(1, n) for n in size)
    blocks = [(n + 2 * p_ - d_ * (k_ - 1) - 1) // s_ + 1 for n, k_, d_, p_, s_ in
              zip(size, k, d, p, s)]
    if min(blocks) < 1:
        size = tuple(d_ * (k_ - 1) + 1 for k_, d_ in zip(k, d))
        blocks = [(n + 2 * p_ - d_ * (k_ - 1) - 1) // s_ + 1 for n, k_, d_, p_, s_ in
                  zip(size, k, d, p, s)]
    c = draw(st.integers(1, 2))
    lead = (draw(st.integers(1, 2)),) if draw(st.booleans()) else ()
    kw = {"kernel_size": k, "dilation": d, "padding": p, "stride": s}
    if fold:
        kw["output_size"] = size
        return [lead + (c * k[0] * k[1], blocks[0] * blocks[1])], kw
    return [lead + (c,) + size], kw


@st.composite
def _instance(draw, affine):
    c = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2))))
    if np.prod(spatial) == 1:
        spatial = spatial[:-1] + (2,)
    shapes = [(draw(st.integers(1, 2)), c) + spatial]
    if affine:
        shapes += [(c,), (c,)]
    return shapes, {"eps": draw(st.sampled_from([1e-5, 1e-3]))}


def _instance_call(fn):
    return lambda x, *wb, eps: fn(x, None, None, *wb, eps=eps)


ROWS = [
    Op("hardtanh", F.hardtanh, TF.hardtanh, unary(), domain="kinkfree"),
    Op("hardtanh_bounds", F.hardtanh, TF.hardtanh, unary(min_dims=1, min_val=-0.5, max_val=2.0),
       domain=at(-0.5, 2.0, spread=2.0), gradcheck=False, tags=("edge",)),
    Op("relu6", F.relu6, TF.relu6, unary(), domain=lambda r, s: r.uniform(-3, 9, s)),
    Op("relu6_bounds", F.relu6, TF.relu6, unary(min_dims=1), domain=at(0.0, 6.0, spread=4.0),
       gradcheck=False, tags=("edge",)),
    Op("hardsigmoid", F.hardsigmoid, _torch_hardsigmoid, unary(),
       domain=lambda r, s: r.uniform(-5, 5, s)),
    Op("hardsigmoid_torch", F.hardsigmoid, TF.hardsigmoid, unary(), grad=False,
       domain=lambda r, s: r.uniform(-5, 5, s)),
    Op("hardsigmoid_bounds", F.hardsigmoid, _torch_hardsigmoid, unary(min_dims=1),
       domain=at(-3.0, 3.0, spread=3.0), gradcheck=False, tags=("edge",)),
    Op("softsign", F.softsign, TF.softsign, unary(), tags=("gradgrad",)),
    Op("tanhshrink", F.tanhshrink, TF.tanhshrink, unary(), tags=("gradgrad",)),
    Op("logsigmoid", F.logsigmoid, TF.logsigmoid, unary(), domain="kinkfree"),
    Op("logsigmoid_wide", F.logsigmoid, TF.logsigmoid, unary(min_dims=1),
       domain=at(-40.0, 0.0, 40.0, spread=10.0), gradcheck=False, tags=("edge",)),
    Op("mish", F.mish, TF.mish, unary(), tags=("gradgrad",)),
    Op("cosine_similarity", F.cosine_similarity, TF.cosine_similarity, _pair_dim()),
    Op("cosine_similarity_zero", F.cosine_similarity, TF.cosine_similarity, _pair_dim(),
       domain=at(0.0), gradcheck=False, tags=("edge",)),
    Op("pairwise_distance", F.pairwise_distance, TF.pairwise_distance, _pairwise()),
    Op("normalize", F.normalize, TF.normalize, _normalize()),
    Op("kl_div", _quiet(F.kl_div), _quiet(TF.kl_div), _kl(), make=_kl_make),
    Op("adaptive_max_pool1d", F.adaptive_max_pool1d, TF.adaptive_max_pool1d,
       _adaptive_max(1), domain="distinct"),
    Op("adaptive_max_pool2d", F.adaptive_max_pool2d, TF.adaptive_max_pool2d,
       _adaptive_max(2), domain="distinct"),
    Op("adaptive_max_pool2d_ties", F.adaptive_max_pool2d, TF.adaptive_max_pool2d,
       _adaptive_max(2), domain="ties", gradcheck=False, tags=("edge",)),
    Op("unfold", F.unfold, TF.unfold, _unfold()),   # linear: no second derivative
    Op("fold", F.fold, TF.fold, _unfold(fold=True)),
    Op("instance_norm", _instance_call(F.instance_norm), _instance_call(TF.instance_norm),
       _instance(True)),
    Op("instance_norm_no_affine", _instance_call(F.instance_norm),
       _instance_call(TF.instance_norm), _instance(False)),
]
