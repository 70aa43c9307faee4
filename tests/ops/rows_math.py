"""Op-table rows for the shape and math ops of issue #3: pad (all four modes, negative widths),
repeat, tile, flip, roll, cumsum, norm / vector_norm (p = 1, 2, ∞, others), einsum (explicit,
implicit, '...', broadcasting, several operands, letters summed inside one operand), topk, and
clamp with tensor bounds."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.api.math import vector_norm
from tests.optable import Op, MAX_SIDE, reduce_dims

TF = torch.nn.functional
INF = float("inf")


def _shape(min_dims=1, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)


# -- pad ------------------------------------------------------------------------------------------
@st.composite
def _pad(draw, mode="constant"):
    """A pad tuple (last dimension first) for k trailing dims; constant pads may be negative
    (cropping, never below one element); reflect pads stay below the size."""
    if mode == "constant":
        shape = draw(_shape(min_dims=1, max_dims=3))
        k = draw(st.integers(1, len(shape)))
    else:  # PyTorch pads k trailing dims of a (k + 1)- or (k + 2)-dimensional input
        k = draw(st.integers(1, 2))
        shape = draw(_shape(min_dims=k + 1, max_dims=k + 2))
    pad = []
    for n in shape[::-1][:k]:
        if mode == "constant":
            lo = draw(st.integers(-(n - 1), 2))
            hi = draw(st.integers(-(n - 1 + min(lo, 0)), 2))
        elif mode == "reflect":
            lo, hi = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        else:
            lo, hi = draw(st.integers(0, min(n, 3))), draw(st.integers(0, min(n, 3)))
        pad += [lo, hi]
    kw = {"pad": tuple(pad), "mode": mode}
    if mode == "constant":
        kw["value"] = draw(st.sampled_from([0.0, 1.5]))
    return [shape], kw


# -- repeat / tile / flip / roll / cumsum --------------------------------------------------------------
@st.composite
def _repeat(draw):
    shape = draw(_shape(min_dims=0))
    extra = draw(st.integers(0 if shape else 1, 2))
    return [shape], {"sizes": tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + extra))}


@st.composite
def _tile(draw):
    shape = draw(_shape(min_dims=0))
    return [shape], {"dims": tuple(draw(st.integers(1, 3))
                                   for _ in range(draw(st.integers(1, 4))))}


@st.composite
def _dims(draw, name="dims"):
    shape = draw(_shape())
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                         max_size=len(shape), unique_by=lambda d: d % len(shape)))
    return [shape], {name: tuple(dims)}


@st.composite
def _roll(draw):
    shape = draw(_shape(min_dims=0))
    if len(shape) == 0 or draw(st.booleans()):
        return [shape], {"shifts": draw(st.integers(-7, 7))}
    (_, kw) = draw(_dims())
    dims = tuple(d for d in kw["dims"] if -len(shape) <= d < len(shape)) or (0,)
    return [shape], {"shifts": tuple(draw(st.integers(-7, 7)) for _ in dims), "dims": dims}


@st.composite
def _one_dim(draw, min_dims=1):
    shape = draw(_shape(min_dims=min_dims))
    return [shape], {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


# -- norm ------------------------------------------------------------------------------------------------
@st.composite
def _norm(draw, key="p", ords=(1, 2, INF, -INF, 3, 0.5, "fro")):
    shapes, kw = draw(reduce_dims())
    kw[key] = draw(st.sampled_from(ords))
    if kw[key] == "fro" and isinstance(kw.get("dim"), tuple) and len(kw["dim"]) > 2:
        kw[key] = 2     # PyTorch's Frobenius norm takes one or two dims (it raises for three)
    return shapes, kw


def _signed_distinct(rng, shapes, dtype):
    """Distinct magnitudes (no ties for ∞-norms) away from zero (no kink of |x|)."""
    n = int(np.prod(shapes[0]))
    mag = (rng.permutation(n) + 1) * 0.1 + rng.uniform(0, 0.01, n)
    return [(rng.choice([-1.0, 1.0], n) * mag).reshape(shapes[0]).astype(dtype)]


def _with_zero_rows(rng, shapes, dtype):
    """Some slices all zero: the 2-norm's gradient there is 0, as in PyTorch."""
    a = rng.standard_normal(shapes[0])
    if a.ndim:
        a[rng.random(a.shape[0]) < 0.5] = 0
    else:
        a = np.zeros(())
    return [a.astype(dtype)]


# -- einsum ---------------------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ij,ij->i", [(1, 4), (3, 4)]),          # a size-1 letter broadcasts
    ("ijk,k->", [(2, 3, 4), (4,)]),
    ("ij,k->jk", [(2, 3), (4,)]),            # i is summed inside the first operand only
    ("...ij,jk", [(2, 3, 4), (4, 2)]),       # implicit output, ellipsis
    ("b...,b...->b", [(2, 3, 1), (2, 1, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ab,cb,ad->cd", [(2, 3), (4, 3), (2, 2)]),
    ("ji", [(3, 2)]),                        # implicit: alphabetical output "ij"
]


def _einsum_rows() -> list:
    """One row per equation, so that every form is always exercised."""
    rows = []
    for i, (eq, shapes) in enumerate(EINSUMS):
        strategy = st.just((list(shapes), {"equation": eq}))
        rows.append(Op(f"einsum_{i}_{eq}", lambda *xs, equation: cr.einsum(equation, *xs),
                       lambda *xs, equation: torch.einsum(equation, *xs), strategy))
    return rows


# -- topk -------------------------------------------------------------------------------------------------
@st.composite
def _topk(draw, sorted_=True):
    shape = draw(_shape())
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return [shape], {"k": draw(st.integers(1, shape[dim])), "dim": dim,
                     "largest": draw(st.booleans()), "sorted": sorted_}


def _topk_torch_sorted(x, k, dim, largest, sorted):
    """PyTorch's sorted=False order is unspecified: sort its result for the comparison."""
    v, i = torch.topk(x, k, dim, largest, sorted)
    order = torch.argsort(v, dim=dim, descending=largest)
    return torch.take_along_dim(v, order, dim), torch.take_along_dim(i, order, dim)


def _topk_long(rng, shapes, dtype):
    """Rows long enough for the partial-selection path (k < n/4)."""
    n = 40
    return [(rng.permutation(n * 3).reshape(3, n) * 0.1 + rng.uniform(0, 0.01, (3, n)))
            .astype(dtype)]


# -- clamp with tensor bounds ----------------------------------------------------------------------------
def _clamp_make(rng, shapes, dtype):
    """x, lo < hi, with x kept away from both bounds (no ties, where the gradient is split)."""
    x_s, lo_s, hi_s = shapes
    lo = rng.uniform(-1, 0, lo_s)
    hi = rng.uniform(0.2, 1, hi_s)
    x = rng.uniform(-1.5, 1.5, x_s)
    _, blo, bhi = np.broadcast_arrays(x, lo, hi)       # x already has the full shape
    x = np.where(np.abs(x - blo) < 0.05, blo - 0.1, x)
    x = np.where(np.abs(x - bhi) < 0.05, bhi + 0.1, x)
    return [np.asarray(x, dtype=dtype), np.asarray(lo, dtype=dtype), np.asarray(hi, dtype=dtype)]


@st.composite
def _clamp_shapes(draw):
    """x at least as large as the bounds (so x broadcasts to the output), bounds broadcasting."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                    min_side=1, max_side=MAX_SIDE))
    x, lo, hi = shapes.input_shapes
    return [shapes.result_shape, lo, hi], {}


ROWS = [
    Op("pad_constant", F.pad, TF.pad, _pad("constant")),
    Op("pad_reflect", F.pad, TF.pad, _pad("reflect")),
    Op("pad_replicate", F.pad, TF.pad, _pad("replicate")),
    Op("pad_circular", F.pad, TF.pad, _pad("circular")),
    Op("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: x.repeat(*sizes), _repeat()),
    Op("tile", lambda x, dims: cr.tile(x, dims), lambda x, dims: torch.tile(x, dims), _tile()),
    Op("tile_method", lambda x, dims: x.tile(*dims), lambda x, dims: x.tile(*dims), _tile()),
    Op("flip", cr.flip, torch.flip, _dims()),
    Op("flip_method", lambda x, dims: x.flip(*dims), lambda x, dims: x.flip(*dims), _dims()),
    Op("roll", cr.roll, torch.roll, _roll()),
    Op("roll_method", lambda x, **k: x.roll(**k), lambda x, **k: x.roll(**k), _roll()),
    Op("cumsum", cr.cumsum, torch.cumsum, _one_dim()),
    Op("cumsum_method", lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim), _one_dim()),
    Op("norm", cr.norm, torch.norm, _norm(), make=_signed_distinct),
    Op("norm_method", lambda x, **k: x.norm(**k), lambda x, **k: x.norm(**k), _norm(),
       make=_signed_distinct),
    Op("norm_zero_slices", cr.norm, torch.norm, _norm(ords=(2, "fro")), make=_with_zero_rows),
    Op("vector_norm", vector_norm, torch.linalg.vector_norm,
       _norm(key="ord", ords=(1, 2, INF, -INF, 3)), make=_signed_distinct),
    *_einsum_rows(),
    Op("einsum_list", lambda *xs, equation: cr.einsum(equation, list(xs)),
       lambda *xs, equation: torch.einsum(equation, list(xs)),
       st.just(([(2, 3), (3, 4)], {"equation": "ij,jk"}))),
    Op("topk", cr.topk, torch.topk, _topk(), domain="distinct"),
    Op("topk_method", lambda x, **k: x.topk(**k), lambda x, **k: x.topk(**k), _topk(),
       domain="distinct"),
    Op("topk_unsorted", cr.topk, _topk_torch_sorted, _topk(sorted_=False), domain="distinct"),
    Op("topk_partial", lambda x, k: cr.topk(x, k, largest=k % 2 == 0),
       lambda x, k: torch.topk(x, k, largest=k % 2 == 0),
       st.integers(1, 9).map(lambda k: ([(3, 40)], {"k": k})), make=_topk_long),
    Op("clamp_tensor_bounds", lambda x, lo, hi: cr.clamp(x, lo, hi),
       lambda x, lo, hi: torch.clamp(x, lo, hi), _clamp_shapes(), make=_clamp_make),
    Op("clamp_tensor_min", lambda x, lo, hi: x.clamp(min=lo),
       lambda x, lo, hi: x.clamp(min=lo), _clamp_shapes(), make=_clamp_make),
    Op("clamp_tensor_max", lambda x, lo, hi: cr.clamp(x, max=hi),
       lambda x, lo, hi: torch.clamp(x, max=hi), _clamp_shapes(), make=_clamp_make),
]
