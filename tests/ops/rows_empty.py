"""Op-table rows for zero-size and 0-d inputs (issue #13), where PyTorch answers with empty
results (or −∞, NaN, 0 as its reductions define them) and chainrule must too: every elementwise,
reduction, softmax, shape and loss row again with one axis of size 0 (``with_empty_axis``), and
the cases that once raised: cat with 1-d empty tensors (skipped, PyTorch's legacy rule), batch
norm, convolution and pooling on an empty batch, gather with an empty index, take_along_dim
with negative indices, einsum through a repeated subscript (a diagonal), pad cropping to
nothing, linear with no features, softmax of a 0-d tensor."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.nn.functional as F
from tests.optable import Op, MAX_SIDE, with_empty_axis
from tests.ops import rows_basic, rows_conv, rows_math, rows_nn

TF = torch.nn.functional

#: rows whose shapes may take an empty axis; left out: the extremes (amax, max, argmax, topk:
#: PyTorch raises over an empty dim, as chainrule does), shape ops whose keyword arguments name
#: sizes (reshape, expand, pad, repeat), joins whose inputs share sizes off one axis (cat, stack,
#: matmul, einsum, linear), and var (n − 1 < 0 elements: see the report of issue #13)
EMPTY_OK = {
    "add", "sub", "mul", "div", "add_alpha", "pow_tensor", "maximum", "minimum", "where",
    "scalar_ops", "rdiv", "pow_scalar_2", "pow_scalar_0.5", "pow_scalar_0", "neg", "exp", "log",
    "log1p", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu",
    "elu", "gelu", "gelu_tanh", "softplus", "softplus_beta", "clamp", "clamp_min", "step",
    "sum", "mean", "std_pop", "logsumexp", "prod", "transpose", "mT", "permute", "unsqueeze",
    "squeeze", "split", "chunk", "flip", "roll", "cumsum", "tile", "clamp_tensor_bounds",
    "softmax", "log_softmax", "softmin", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
    "bce_with_logits", "binary_cross_entropy",
}


def _emptied(op: Op) -> Op:
    return dataclasses.replace(op, name=f"{op.name}_empty", shapes=with_empty_axis(op.shapes),
                               gradcheck=False, tags=op.tags + ("empty", "edge"))


EMPTIED = [_emptied(op) for m in (rows_basic, rows_math, rows_nn) for op in m.ROWS
           if op.name in EMPTY_OK]


# -- cat with 1-d empty tensors -----------------------------------------------------------------------
@st.composite
def _cat_legacy(draw):
    """cat's inputs with (0,) tensors put among them (PyTorch skips those, whatever the others'
    shapes), sometimes only (0,) tensors."""
    shapes, kw = draw(rows_basic._cat())
    if draw(st.integers(0, 5)) == 0:
        return [(0,)] * draw(st.integers(1, 3)), {"dim": 0}
    for _ in range(draw(st.integers(1, 2))):
        shapes.insert(draw(st.integers(0, len(shapes))), (0,))
    return shapes, kw


# -- empty batches --------------------------------------------------------------------------------
@st.composite
def _bn_empty(draw):
    c = draw(st.integers(1, MAX_SIDE))
    return [(0, c) + draw(st.sampled_from([(), (3,), (2, 3)])), (c,), (c,)], \
        {"eps": 1e-5, "training": draw(st.sampled_from([True, True, False]))}


def _bn(lib):
    fn = F.batch_norm if lib == "cr" else TF.batch_norm
    lib_ = cr if lib == "cr" else torch

    def call(x, w, b, eps, training):
        c = x.shape[1]
        return fn(x, lib_.zeros(c, dtype=x.dtype), lib_.ones(c, dtype=x.dtype), w, b,
                  training=training, eps=eps)
    return call


def _empty_batch(strategy, nd: int):
    """A conv/pool strategy's shapes with the batch size set to 0 (an unbatched input, of
    nd + 1 dimensions, made batched first)."""
    def zero(a):
        shapes, kw = a
        x = tuple(shapes[0])
        batched = x if len(x) == nd + 2 else (1,) + x
        return [(0,) + batched[1:]] + shapes[1:], kw
    return strategy.map(zero)


# -- gather / take_along_dim ----------------------------------------------------------------------
@st.composite
def _gather_empty(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    idx = list(shape)
    idx[draw(st.integers(0, len(shape) - 1))] = 0
    return [shape, tuple(idx)], {"dim": dim}


@st.composite
def _take_negative(draw):
    """x, indices in [−n, n) along dim (negative ones common), shapes broadcasting off dim."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    idx_shape = [draw(st.sampled_from([1, s])) for s in shape]
    idx_shape[dim] = draw(st.integers(1, MAX_SIDE))
    seed = draw(st.integers(0, 2**16))
    idx = np.random.default_rng(seed).integers(-n, n, idx_shape)
    idx.reshape(-1)[0] = -n                      # at least one negative index, the first element
    return [shape], {"indices": idx, "dim": dim}


def _gather(lib):
    mod = cr if lib == "cr" else torch
    conv = (lambda a: cr.tensor(a)) if lib == "cr" else torch.tensor

    def call(x, dim, idx_shape=None, indices=None, **kw):
        return mod.gather(x, dim, conv(np.zeros(idx_shape, np.int64)))
    return call


def _take(lib):
    mod = cr if lib == "cr" else torch
    conv = (lambda a: cr.tensor(a)) if lib == "cr" else torch.tensor
    return lambda x, indices, dim: mod.take_along_dim(x, conv(indices), dim)


# -- einsum through diagonals -----------------------------------------------------------------------
DIAGONALS = [
    ("iji->j", [(3, 2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(4, 4)]),                          # the trace
    ("ii,i->i", [(3, 3), (3,)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 4)]),
    ("bii->b", [(2, 3, 3)]),
]


def _diagonal_rows():
    return [Op(f"einsum_diagonal_{i}_{eq}", lambda *xs, equation: cr.einsum(equation, *xs),
               lambda *xs, equation: torch.einsum(equation, *xs),
               st.just((list(shapes), {"equation": eq}))) for i, (eq, shapes) in
            enumerate(DIAGONALS)]


# -- pad cropping to nothing, linear without features, 0-d softmax ----------------------------------
@st.composite
def _pad_crop_all(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    n = shape[-1]
    lo = draw(st.integers(-n, 0))
    return [shape], {"pad": (lo, -n - lo), "value": 1.5}


@st.composite
def _linear_empty(draw):
    batch = draw(st.sampled_from([(0,), (2,), (0, 3), (2, 3)]))
    i = draw(st.integers(0, 2))
    o = draw(st.integers(0, 2)) if i else draw(st.integers(1, 2))
    if 0 not in batch + (i, o):
        i = 0
    return [batch + (i,), (o, i), (o,)], {}


SCALAR_DIMS = st.sampled_from([0, -1]).map(lambda d: ([()], {"dim": d}))

ROWS = EMPTIED + [dataclasses.replace(r, tags=r.tags + ("edge",)) for r in [
    Op("cat_legacy_empty", lambda *xs, dim: cr.cat(xs, dim), lambda *xs, dim: torch.cat(xs, dim),
       _cat_legacy(), gradcheck=False),
    Op("batch_norm_empty_batch", _bn("cr"), _bn("torch"), _bn_empty(), gradcheck=False),
    Op("conv1d_empty_batch", F.conv1d, TF.conv1d, _empty_batch(rows_conv._conv(1), 1),
       gradcheck=False),
    Op("conv2d_empty_batch", F.conv2d, rows_conv._quiet(TF.conv2d),
       _empty_batch(rows_conv._conv(2), 2), gradcheck=False),
    Op("conv2d_groups_empty_batch", F.conv2d, TF.conv2d,
       _empty_batch(rows_conv._conv(2, groups=(2, 3)), 2), gradcheck=False),
    Op("max_pool2d_empty_batch", F.max_pool2d, TF.max_pool2d,
       _empty_batch(rows_conv._pool(2, "max"), 2), gradcheck=False),
    Op("avg_pool1d_empty_batch", F.avg_pool1d, TF.avg_pool1d,
       _empty_batch(rows_conv._pool(1, "avg"), 1), gradcheck=False),
    Op("adaptive_avg_pool2d_empty_batch", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d,
       _empty_batch(rows_conv._adaptive(2), 2), gradcheck=False),
    Op("gather_empty_index", _gather("cr"), _gather("torch"),
       _gather_empty().map(lambda a: ([a[0][0]], {**a[1], "idx_shape": a[0][1]})),
       gradcheck=False),
    Op("take_along_dim_negative", _take("cr"), _take("torch"), _take_negative()),
    *_diagonal_rows(),
    Op("pad_crop_to_empty", F.pad, TF.pad, _pad_crop_all(), gradcheck=False),
    Op("linear_empty", F.linear, TF.linear, _linear_empty(), gradcheck=False),
    Op("softmax_0d", F.softmax, torch.softmax, SCALAR_DIMS),
    Op("log_softmax_0d", F.log_softmax, torch.log_softmax, SCALAR_DIMS),
    Op("softmin_0d", F.softmin, TF.softmin, SCALAR_DIMS),
    Op("logsumexp_empty_dim", cr.logsumexp, torch.logsumexp,
       st.sampled_from([((0, 3), 0), ((2, 0), 1), ((2, 0, 3), (1, 2))]).map(
           lambda a: ([a[0]], {"dim": a[1]})), gradcheck=False),
]]
