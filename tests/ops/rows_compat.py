"""Op-table rows for the PyTorch-compatibility ops of issue #18 (part 1): acos/asin/atan,
sinh/cosh, log10, floor/ceil, addmm, dot, mv, outer, bmm, sort/argsort (ties, stable,
descending), unique, scatter, index_add, narrow, select, tril/triu, meshgrid, clone,
true_divide, softmax/log_softmax function forms, and the keyword forms torch code passes
(flip(dims=), prod(dtype=), var_mean(unbiased=), movedim with lists, norm(p='nuc')).

Index arguments are drawn into the keyword arguments as NumPy arrays; the PyTorch side turns them
into tensors. scatter's index never repeats a position along ``dim`` (where it does, which write
wins is unspecified in both libraries).
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from tests.optable import Op, MAX_SIDE, unary, broadcast

DTYPES = {"float32": (cr.float32, torch.float32), "float64": (cr.float64, torch.float64)}


def _shape(min_dims=1, max_dims=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)


def _off_integers(rng, shape):
    """Values a safe distance from every integer (floor and ceil jump there)."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def _torch_kw(kw):
    """Keyword arguments for PyTorch: arrays become tensors, dtype names torch dtypes."""
    out = {}
    for k, v in kw.items():
        if isinstance(v, np.ndarray):
            v = torch.from_numpy(v)
        elif k == "dtype" and v is not None:
            v = DTYPES[v][1]
        out[k] = v
    return out


def _cr_kw(kw):
    return {k: (DTYPES[v][0] if k == "dtype" and v is not None else v) for k, v in kw.items()}


def _pair(cr_fn, torch_fn):
    """Row callables that translate keyword arguments for each side."""
    return (lambda *xs, **kw: cr_fn(*xs, **_cr_kw(kw)),
            lambda *xs, **kw: torch_fn(*xs, **_torch_kw(kw)))


# -- products ---------------------------------------------------------------------------------------
@st.composite
def _addmm(draw):
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    ishape = draw(st.sampled_from([(n, m), (m,), (1, m), (n, 1), ()]))
    kw = {"beta": draw(st.sampled_from([1, 0.5, 0])), "alpha": draw(st.sampled_from([1, -2.0]))}
    return [ishape, (n, k), (k, m)], kw


@st.composite
def _vectors(draw, kind):
    n, k = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    return {"dot": [(k,), (k,)], "mv": [(n, k), (k,)], "outer": [(n,), (k,)]}[kind], {}


@st.composite
def _bmm(draw):
    b, n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(4))
    return [(b, n, k), (b, k, m)], {}


# -- sorting and unique -----------------------------------------------------------------------------
@st.composite
def _sort(draw, stable=True):
    shape = draw(_shape())
    kw = {"dim": draw(st.integers(-len(shape), len(shape) - 1)),
          "descending": draw(st.booleans())}
    if stable:
        kw["stable"] = True
    return [shape], kw


@st.composite
def _unique(draw):
    shape = draw(_shape())
    kw = {"return_inverse": draw(st.booleans()), "return_counts": draw(st.booleans())}
    if draw(st.booleans()):
        kw["dim"] = draw(st.integers(-len(shape), len(shape) - 1))
    return [shape], kw


def _small_ints(rng, shapes, dtype):
    return [rng.integers(-2, 3, shapes[0])]   # int64 whatever the float dtype


# -- scatter and index_add --------------------------------------------------------------------------
@st.composite
def _scatter(draw, src=True):
    """x, an index with x's rank whose entries along ``dim`` are distinct (no position written
    twice), and src of index's shape or one larger in some dims."""
    shape = draw(_shape())
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    ishape = [draw(st.integers(1, n)) for n in shape]
    ishape[dim] = draw(st.integers(1, shape[dim]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    keys = rng.random(tuple(shape[dim] if d == dim % nd else n for d, n in enumerate(ishape)))
    index = np.take(np.argsort(keys, axis=dim), np.arange(ishape[dim]), axis=dim)
    if not src:
        return [shape], {"dim": dim, "index": index, "value": draw(st.sampled_from([2.5, -1]))}
    sshape = tuple(n + draw(st.integers(0, 1)) for n in ishape)
    return [shape, sshape], {"dim": dim, "index": index}


def _scatter_torch(x, s, dim, index):
    """PyTorch's backward rejects src larger than index: slice it first (the same op)."""
    return torch.scatter(x, dim, torch.from_numpy(index), s[tuple(slice(n) for n in index.shape)])


@st.composite
def _index_add(draw):
    shape = draw(_shape())
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(1, 5))
    index = np.array(draw(st.lists(st.integers(0, shape[dim] - 1), min_size=k, max_size=k)),
                     dtype=np.int64)
    sshape = list(shape)
    sshape[dim] = k
    return [shape, tuple(sshape)], {"dim": dim, "index": index,
                                    "alpha": draw(st.sampled_from([1, 0.5, -2]))}


# -- narrow, select, triangles, meshgrid ------------------------------------------------------------
@st.composite
def _narrow(draw):
    shape = draw(_shape())
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    start = draw(st.integers(-n, n - 1))
    length = draw(st.integers(0, n - (start % n)))
    return [shape], {"dim": dim, "start": start, "length": length}


@st.composite
def _select(draw):
    shape = draw(_shape())
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return [shape], {"dim": dim, "index": draw(st.integers(-shape[dim], shape[dim] - 1))}


@st.composite
def _triangle(draw):
    return [draw(_shape(min_dims=2, max_dims=4))], {"diagonal": draw(st.integers(-3, 3))}


@st.composite
def _meshgrid(draw):
    k = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from([(), (draw(st.integers(1, MAX_SIDE)),)])) for _ in range(k)]
    return shapes, {"indexing": draw(st.sampled_from(["ij", "xy"]))}


# -- keyword forms -----------------------------------------------------------------------------------
@st.composite
def _with_dim(draw, dtype=False):
    shape = draw(_shape())
    kw = {"dim": draw(st.integers(-len(shape), len(shape) - 1))}
    if dtype:
        kw["dtype"] = draw(st.sampled_from([None, "float64"]))
    return [shape], kw


@st.composite
def _prod_dtype(draw):
    shape = draw(_shape())
    kw = {"dtype": "float64"}
    if draw(st.booleans()):
        kw["dim"] = draw(st.integers(-len(shape), len(shape) - 1))
    return [shape], kw


@st.composite
def _flip_dims(draw):
    shape = draw(_shape())
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                         unique=True))
    return [shape], {"dims": dims}


@st.composite
def _var_mean(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=MAX_SIDE))
    kw = {"dim": draw(st.integers(-len(shape), len(shape) - 1)), "keepdim": draw(st.booleans())}
    if draw(st.booleans()):
        kw["unbiased"] = draw(st.booleans())
    else:
        kw["correction"] = draw(st.sampled_from([0, 1]))
    return [shape], kw


@st.composite
def _movedim(draw):
    shape = draw(_shape(min_dims=2, max_dims=4))
    n = len(shape)
    k = draw(st.integers(1, n))
    src = draw(st.permutations(range(n)))[:k]
    dst = draw(st.permutations(range(n)))[:k]
    return [shape], {"source": list(src), "destination": list(dst)}


@st.composite
def _nuc(draw):
    shape = draw(_shape(min_dims=2, max_dims=3))
    if len(shape) == 2 and draw(st.booleans()):
        return [shape], {}
    dim = tuple(draw(st.permutations(range(len(shape))))[:2])
    return [shape], {"dim": dim, "keepdim": draw(st.booleans())}


def _nuc_cr(x, **kw):
    return cr.norm(x, p="nuc", **kw)


def _nuc_torch(x, **kw):
    return torch.norm(x, p="nuc", **kw)


ROWS = [
    # transcendental and rounding
    Op("acos", cr.acos, torch.acos, unary(), domain="unit"),
    Op("asin", cr.asin, torch.asin, unary(), domain="unit", tags=("gradgrad",)),
    Op("atan", cr.atan, torch.atan, unary()),
    Op("arccos_method", lambda x: x.arccos(), lambda x: x.arccos(), unary(), domain="unit"),
    Op("asin_method", lambda x: x.asin(), lambda x: x.asin(), unary(), domain="unit"),
    Op("sinh", cr.sinh, torch.sinh, unary(), tags=("gradgrad",)),
    Op("cosh", cr.cosh, torch.cosh, unary()),
    Op("cosh_method", lambda x: x.cosh(), lambda x: x.cosh(), unary()),
    Op("log10", cr.log10, torch.log10, unary(), domain="positive", tags=("gradgrad",)),
    Op("floor", cr.floor, torch.floor, unary(), domain=_off_integers),
    Op("ceil", cr.ceil, torch.ceil, unary(), domain=_off_integers),
    Op("floor_method", lambda x: x.floor(), lambda x: x.floor(), unary(), domain=_off_integers),
    # products
    Op("addmm", cr.addmm, torch.addmm, _addmm(), tags=("gradgrad",)),
    Op("addmm_method", lambda i, a, b, **kw: i.addmm(a, b, **kw),
       lambda i, a, b, **kw: i.addmm(a, b, **kw),
       _addmm().filter(lambda a: len(a[0][0]) == 2)),
    Op("dot", cr.dot, torch.dot, _vectors("dot")),
    Op("mv", cr.mv, torch.mv, _vectors("mv")),
    Op("outer", cr.outer, torch.outer, _vectors("outer")),
    Op("outer_method", lambda a, b: a.outer(b), lambda a, b: a.outer(b), _vectors("outer")),
    Op("bmm", cr.bmm, torch.bmm, _bmm()),
    Op("bmm_method", lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), _bmm()),
    # sorting (ties keep their order: the stable sort both libraries do with stable=True)
    # (finite differences cross the ties, so those rows compare with PyTorch only)
    Op("sort_ties", cr.sort, torch.sort, _sort(), domain="ties", gradcheck=False),
    Op("sort_distinct", cr.sort, torch.sort, _sort(stable=False), domain="distinct"),
    Op("sort_method", lambda x, **kw: x.sort(**kw), lambda x, **kw: x.sort(**kw), _sort(),
       domain="ties", gradcheck=False),
    Op("argsort_ties", cr.argsort, torch.argsort, _sort(), domain="ties", grad=False),
    Op("unique", cr.unique, torch.unique, _unique(), make=_small_ints, grad=False),
    Op("unique_float", lambda x, **kw: x.unique(**kw), lambda x, **kw: x.unique(**kw),
       _unique(), domain="ties", grad=False),
    # placing values
    Op("scatter", lambda x, s, dim, index: cr.scatter(x, dim, index, s), _scatter_torch,
       _scatter()),
    Op("scatter_method", lambda x, s, dim, index: x.scatter(dim, cr.tensor(index), s),
       _scatter_torch, _scatter()),
    Op("scatter_value", lambda x, dim, index, value: cr.scatter(x, dim, index, value=value),
       lambda x, dim, index, value: torch.scatter(x, dim, torch.from_numpy(index), value),
       _scatter(src=False)),
    Op("index_add", lambda x, s, dim, index, alpha: cr.index_add(x, dim, index, s, alpha=alpha),
       lambda x, s, dim, index, alpha: torch.index_add(x, dim, torch.from_numpy(index), s,
                                                       alpha=alpha), _index_add()),
    Op("index_add_method", lambda x, s, dim, index, alpha: x.index_add(dim, cr.tensor(index), s,
                                                                       alpha=alpha),
       lambda x, s, dim, index, alpha: x.index_add(dim, torch.from_numpy(index), s,
                                                   alpha=alpha), _index_add()),
    Op("narrow", cr.narrow, torch.narrow, _narrow()),
    Op("select", cr.select, torch.select, _select()),
    Op("tril", cr.tril, torch.tril, _triangle()),
    Op("triu", cr.triu, torch.triu, _triangle()),
    Op("triu_method", lambda x, diagonal: x.triu(diagonal), lambda x, diagonal: x.triu(diagonal),
       _triangle()),
    Op("meshgrid", cr.meshgrid, torch.meshgrid, _meshgrid()),
    # function forms and keywords
    Op("clone", cr.clone, torch.clone, unary()),
    Op("true_divide", cr.true_divide, torch.true_divide, broadcast(), domain="kinkfree"),
    Op("true_divide_method", lambda a, b: a.true_divide(b), lambda a, b: a.true_divide(b),
       broadcast(), domain="kinkfree"),
    Op("softmax_function", *_pair(cr.softmax, torch.softmax), _with_dim(dtype=True)),
    Op("log_softmax_function", *_pair(cr.log_softmax, torch.log_softmax), _with_dim(dtype=True)),
    Op("prod_dtype", *_pair(cr.prod, torch.prod), _prod_dtype(), domain="positive"),
    Op("prod_dtype_method", *_pair(lambda x, **kw: x.prod(**kw), lambda x, **kw: x.prod(**kw)),
       _prod_dtype(), domain="positive"),
    Op("flip_dims_keyword", lambda x, dims: x.flip(dims=dims),
       lambda x, dims: x.flip(dims=dims), _flip_dims()),
    Op("var_mean_keywords", cr.var_mean, torch.var_mean, _var_mean()),
    Op("movedim_lists", cr.movedim, torch.movedim, _movedim()),
    Op("movedim_lists_method", lambda x, **kw: x.movedim(**kw), lambda x, **kw: x.movedim(**kw),
       _movedim()),
    Op("norm_nuc", _nuc_cr, _nuc_torch, _nuc(), rtol32=1e-3, atol32=1e-3),
]
