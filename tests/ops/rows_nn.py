"""Op-table rows for chainrule.nn.functional (issues #3 and #4): softmax family, losses,
normalisation, linear, embedding, prelu — including logits of magnitude 1e4, which must stay
finite (the wrapped functions assert it before the PyTorch comparison runs)."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule.nn.functional as F
from tests.optable import Op, MAX_SIDE

TF = torch.nn.functional
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _finite(out):
    """Pass the output through, failing if any value is NaN or Inf."""
    for o in (out if isinstance(out, (tuple, list)) else (out,)):
        host = o.detach().cpu().numpy()        # a host copy first: o may live on a GPU
        assert np.isfinite(host).all(), "non-finite output"
    return out


# -- shape strategies ----------------------------------------------------------------------------
@st.composite
def _with_dim(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=MAX_SIDE))
    return [shape], {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def _classes(draw, nd=True, smoothing=True, weight=True, min_n=1):
    """Logits (N, C[, d]) with their target shape and the class-weight shape."""
    n, c = draw(st.integers(min_n, MAX_SIDE)), draw(st.integers(2, MAX_SIDE))
    extra = draw(st.sampled_from([(), (2,), (1, 3)])) if nd else ()
    kw = {"reduction": draw(REDUCTIONS)}
    if smoothing:
        kw["label_smoothing"] = draw(st.sampled_from([0.0, 0.1, 0.35]))
    if weight:
        kw["use_weight"] = draw(st.booleans())
    return [(n, c) + extra, (n,) + extra, (c,)], kw


@st.composite
def _same_pair(draw, weighted=False, **extra):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE))
    kw = {"reduction": draw(REDUCTIONS)}
    for k, strat in extra.items():
        kw[k] = draw(strat)
    return [shape, shape] + ([shape] if weighted else []), kw


@st.composite
def _linear(draw):
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=MAX_SIDE))
    i, o = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    shapes = [batch + (i,), (o, i)]
    if draw(st.booleans()):
        shapes.append((o,))
    return shapes, {}


@st.composite
def _layer_norm(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    k = draw(st.integers(1, len(shape)))
    norm = tuple(shape[len(shape) - k:])
    if np.prod(norm) == 1:  # a single element normalises to 0 exactly: nothing to compare
        norm, shape = (2,) + norm[1:], shape[:len(shape) - k] + (2,) + norm[1:]
    return [shape, norm, norm], {"normalized_shape": norm, "eps": draw(st.sampled_from([1e-5, 0.1]))}


@st.composite
def _batch_norm(draw, eval_mode=False):
    n, c = draw(st.integers(2, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    extra = draw(st.sampled_from([(), (3,), (2, 3)]))
    x = (n, c) + extra
    return ([x, (c,), (c,), (c,), (c,)] if eval_mode else [x, (c,), (c,)]), \
        {"eps": draw(st.sampled_from([1e-5, 0.1]))}


@st.composite
def _embedding(draw, padding=False):
    idx = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=MAX_SIDE))
    v, d = draw(st.integers(2, 6)), draw(st.integers(1, MAX_SIDE))
    return [idx, (v, d)], ({"padding_idx": draw(st.integers(0, v - 1))} if padding else {})


@st.composite
def _prelu(draw):
    n, c = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    extra = draw(st.sampled_from([(), (3,)]))
    return [(n, c) + extra, draw(st.sampled_from([(1,), (c,)]))], {}


# -- values ---------------------------------------------------------------------------------------
def _logits_and_targets(scale=1.0, soft=False):
    def make(rng, shapes, dtype):
        xs, ts, ws = shapes
        x = (rng.standard_normal(xs) * scale).astype(dtype)
        w = rng.uniform(0.5, 2.0, ws).astype(dtype)
        if soft:
            p = rng.dirichlet(np.ones(xs[1]), size=(xs[0],) + tuple(xs[2:]))
            return [x, np.moveaxis(p, -1, 1).astype(dtype), w]
        t = rng.integers(0, xs[1], ts)
        if t.size > 1 and rng.random() < 0.5:
            t.reshape(-1)[0] = -100  # one ignored target (never all of them)
        return [x, t, w]
    return make


def _probabilities(rng, shapes, dtype):
    out = [rng.uniform(0.05, 0.95, shapes[0]), rng.uniform(0.0, 1.0, shapes[1])]
    out += [rng.uniform(0.5, 2.0, s) for s in shapes[2:]]
    return [np.asarray(a, dtype=dtype) for a in out]


def _logit_pairs(scale=1.0):
    def make(rng, shapes, dtype):
        x = rng.standard_normal(shapes[0]) * scale
        out = [x, rng.uniform(0.0, 1.0, shapes[1])] + [rng.uniform(0.5, 3.0, s) for s in shapes[2:]]
        return [np.asarray(a, dtype=dtype) for a in out]
    return make


def _regression(rng, shapes, dtype):
    out = [rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])]
    out += [rng.uniform(0.5, 2.0, s) for s in shapes[2:]]
    return [np.asarray(a, dtype=dtype) for a in out]


def _hinge(rng, shapes, dtype):
    y = rng.choice([-1.0, 1.0], shapes[0]) * rng.uniform(0.1, 2.0, shapes[0]) + 1.0 * \
        rng.choice([-1.0, 1.0], shapes[0])  # scores away from the kink at t·y = 1
    return [np.asarray(y, dtype=dtype), rng.choice([-1.0, 1.0], shapes[1]).astype(dtype)]


def _bn_eval(rng, shapes, dtype):
    x, c = shapes[0], shapes[1]
    return [rng.standard_normal(x).astype(dtype), rng.standard_normal(c).astype(dtype),
            rng.uniform(0.5, 2.0, c).astype(dtype), rng.uniform(0.5, 2.0, c).astype(dtype),
            rng.standard_normal(c).astype(dtype)]


def _embedding_make(rng, shapes, dtype):
    return [rng.integers(0, shapes[1][0], shapes[0]), rng.standard_normal(shapes[1]).astype(dtype)]


def _multi_margin_make(rng, shapes, dtype):
    x, t, w = _logits_and_targets()(rng, shapes, dtype)
    return [x, np.where(t < 0, 0, t), w]


# -- the functions under test, called the same way for both libraries -----------------------------
def _ce(lib):
    fn = F.cross_entropy if lib == "cr" else TF.cross_entropy

    def ce(x, t, w, use_weight=False, **kw):
        return _finite(fn(x, t, weight=w if use_weight else None, **kw))
    return ce


def _nll(lib):
    fn = F.nll_loss if lib == "cr" else TF.nll_loss
    return lambda x, t, w, use_weight=False, **kw: fn(x, t, weight=w if use_weight else None, **kw)


def _hinge_torch(y, t, reduction="mean"):
    loss = torch.clamp(1 - t * y, min=0)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def _bn_train(lib):
    fn = F.batch_norm if lib == "cr" else TF.batch_norm
    return lambda x, w, b, eps: fn(x, None, None, w, b, training=True, eps=eps)


def _bn_eval_fn(lib):
    fn = F.batch_norm if lib == "cr" else TF.batch_norm
    return lambda x, rm, rv, w, b, eps: fn(x, rm, rv, w, b, training=False, eps=eps)


def _large(fn):
    return lambda *a, **k: _finite(fn(*a, **k))


ROWS = [
    # softmax family (#3)
    Op("softmax", F.softmax, torch.softmax, _with_dim()),
    Op("log_softmax", F.log_softmax, torch.log_softmax, _with_dim()),
    Op("softmin", F.softmin, TF.softmin, _with_dim()),
    Op("softmax_1e4", _large(F.softmax), torch.softmax, _with_dim(),
       make=lambda rng, s, dt: [(rng.standard_normal(s[0]) * 1e4).astype(dt)], gradcheck=False),
    Op("log_softmax_1e4", _large(F.log_softmax), torch.log_softmax, _with_dim(),
       make=lambda rng, s, dt: [(rng.standard_normal(s[0]) * 1e4).astype(dt)], gradcheck=False,
       rtol32=1e-5, atol32=1e-2),
    # classification losses (#4)
    Op("cross_entropy", _ce("cr"), _ce("torch"), _classes(), make=_logits_and_targets(),
       nondiff=(1, 2)),
    Op("cross_entropy_1e4", _ce("cr"), _ce("torch"), _classes(), make=_logits_and_targets(1e4),
       nondiff=(1, 2), gradcheck=False, rtol32=1e-5, atol32=1e-2),
    Op("cross_entropy_probs", _ce("cr"), _ce("torch"), _classes(),
       make=_logits_and_targets(soft=True), nondiff=(2,)),
    Op("cross_entropy_probs_1e4", _ce("cr"), _ce("torch"), _classes(),
       make=_logits_and_targets(1e4, soft=True), nondiff=(2,), gradcheck=False, rtol32=1e-5,
       atol32=1e-1),
    # second derivatives with N ≥ 2 (a missing 1/N in the create_graph path shows only there):
    # mean and sum reductions, class weights, ignore_index (-100 targets) and label smoothing
    Op("cross_entropy_gradgrad", _ce("cr"), _ce("torch"), _classes(min_n=2),
       make=_logits_and_targets(), nondiff=(1, 2), tags=("gradgrad",)),
    Op("cross_entropy_flat_gradgrad", _ce("cr"), _ce("torch"), _classes(nd=False, min_n=2),
       make=_logits_and_targets(), nondiff=(1, 2), tags=("gradgrad",)),
    Op("cross_entropy_probs_gradgrad", _ce("cr"), _ce("torch"), _classes(min_n=2),
       make=_logits_and_targets(soft=True), nondiff=(1, 2), tags=("gradgrad",)),
    Op("log_softmax_gradgrad", F.log_softmax, torch.log_softmax, _with_dim(),
       tags=("gradgrad",)),
    Op("nll_loss", _nll("cr"), _nll("torch"), _classes(smoothing=False),
       make=_logits_and_targets(), nondiff=(1, 2)),
    Op("binary_cross_entropy",
       lambda x, t, w, reduction: F.binary_cross_entropy(x, t, w, reduction=reduction),
       lambda x, t, w, reduction: TF.binary_cross_entropy(x, t, w, reduction=reduction),
       _same_pair(weighted=True), make=_probabilities, nondiff=(2,)),
    Op("bce_with_logits",
       lambda x, t, reduction: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
       lambda x, t, reduction: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction),
       _same_pair(), make=_logit_pairs()),
    Op("bce_with_logits_weights",
       lambda x, t, w, p, reduction: F.binary_cross_entropy_with_logits(
           x, t, w, reduction=reduction, pos_weight=p),
       lambda x, t, w, p, reduction: TF.binary_cross_entropy_with_logits(
           x, t, w, reduction=reduction, pos_weight=p),
       _same_pair().map(lambda a: (a[0] + [a[0][0], a[0][0][-1:]], a[1])),
       make=_logit_pairs(), nondiff=(2, 3)),
    Op("bce_with_logits_1e4",
       _large(lambda x, t, reduction: F.binary_cross_entropy_with_logits(x, t,
                                                                         reduction=reduction)),
       lambda x, t, reduction: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction),
       _same_pair(), make=_logit_pairs(1e4), gradcheck=False, rtol32=1e-5, atol32=1e-1),
    Op("multi_margin_loss",
       lambda x, t, w, p, margin, reduction: F.multi_margin_loss(x, t, p, margin, w,
                                                                 reduction=reduction),
       lambda x, t, w, p, margin, reduction: TF.multi_margin_loss(x, t, p, margin, w,
                                                                  reduction=reduction),
       _classes(nd=False, smoothing=False, weight=False).map(
           lambda a: (a[0], {**a[1], "p": 1, "margin": 0.7})),
       make=_multi_margin_make, nondiff=(1, 2)),
    Op("multi_margin_loss_p2",
       lambda x, t, w, reduction: F.multi_margin_loss(x, t, 2, 1.0, w, reduction=reduction),
       lambda x, t, w, reduction: TF.multi_margin_loss(x, t, 2, 1.0, w, reduction=reduction),
       _classes(nd=False, smoothing=False, weight=False), make=_multi_margin_make,
       nondiff=(1, 2)),
    Op("hinge_loss", F.hinge_loss, _hinge_torch, _same_pair(), make=_hinge, nondiff=(1,)),
    # regression losses
    Op("mse_loss", F.mse_loss, TF.mse_loss, _same_pair(), make=_regression),
    Op("mse_loss_weighted", lambda x, t, w, **k: F.mse_loss(x, t, weight=w, **k),
       lambda x, t, w, **k: TF.mse_loss(x, t, weight=w, **k), _same_pair(weighted=True),
       make=_regression, nondiff=(2,)),
    Op("l1_loss", F.l1_loss, TF.l1_loss, _same_pair(), make=_regression),
    Op("l1_loss_weighted", lambda x, t, w, **k: F.l1_loss(x, t, weight=w, **k),
       lambda x, t, w, **k: TF.l1_loss(x, t, weight=w, **k), _same_pair(weighted=True),
       make=_regression, nondiff=(2,)),
    Op("huber_loss", F.huber_loss, TF.huber_loss,
       _same_pair(delta=st.sampled_from([0.3, 1.0, 2.5])), make=_regression),
    Op("huber_loss_weighted", lambda x, t, w, **k: F.huber_loss(x, t, weight=w, **k),
       lambda x, t, w, **k: TF.huber_loss(x, t, weight=w, **k),
       _same_pair(weighted=True, delta=st.sampled_from([0.5])), make=_regression, nondiff=(2,)),
    Op("smooth_l1_loss", F.smooth_l1_loss, TF.smooth_l1_loss,
       _same_pair(beta=st.sampled_from([0.0, 0.4, 1.0])), make=_regression),
    # layers' functions
    Op("linear", F.linear, TF.linear, _linear()),
    Op("layer_norm", lambda x, w, b, **k: F.layer_norm(x, weight=w, bias=b, **k),
       lambda x, w, b, **k: TF.layer_norm(x, weight=w, bias=b, **k), _layer_norm()),
    Op("batch_norm_train", _bn_train("cr"), _bn_train("torch"), _batch_norm()),
    Op("batch_norm_eval", _bn_eval_fn("cr"), _bn_eval_fn("torch"), _batch_norm(eval_mode=True),
       make=_bn_eval, nondiff=(1, 2)),
    Op("embedding", F.embedding, TF.embedding, _embedding(), make=_embedding_make, nondiff=(0,)),
    # padding_idx withholds the gradient of a row the output does read: no finite-difference check
    Op("embedding_padding", F.embedding, TF.embedding, _embedding(padding=True),
       make=_embedding_make, nondiff=(0,), gradcheck=False),
    Op("prelu", F.prelu, TF.prelu, _prelu(), domain="kinkfree"),
]
