"""PyTorch's ``out=`` keyword (issue #18): values, identity, dtype rules, resizing, autograd."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.api.out_arg import can_cast

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
P = (np.abs(A) + 0.5).astype(np.float32)
M = RNG.standard_normal((4, 2)).astype(np.float32)
V = RNG.standard_normal(4).astype(np.float32)
W = RNG.standard_normal(3).astype(np.float32)
BA = RNG.standard_normal((2, 3, 4)).astype(np.float32)
BB = RNG.standard_normal((2, 4, 5)).astype(np.float32)
IDX = np.array([[0, 2], [1, 1], [3, 0]], dtype=np.int64)
SEL = np.array([2, 0], dtype=np.int64)


def both(arr):
    return cr.tensor(arr), torch.tensor(arr)


# name -> (arrays, extra positional arguments, keyword arguments, out dtype name)
CASES = {
    "matmul": ((A, M), (), {}, "float32"),
    "mm": ((A, M), (), {}, "float32"),
    "bmm": ((BA, BB), (), {}, "float32"),
    "addmm": ((np.ones((3, 2), np.float32), A, M), (), {"beta": 0.5, "alpha": 2.0}, "float32"),
    "dot": ((V, V), (), {}, "float32"),
    "mv": ((A, V), (), {}, "float32"),
    "outer": ((V, W), (), {}, "float32"),
    "add": ((A, B), (), {"alpha": 3}, "float32"),
    "sub": ((A, B), (), {}, "float32"),
    "mul": ((A, B), (), {}, "float32"),
    "div": ((A, P), (), {}, "float32"),
    "true_divide": ((A, P), (), {}, "float32"),
    "pow": ((P, B), (), {}, "float32"),
    "neg": ((A,), (), {}, "float32"),
    "abs": ((A,), (), {}, "float32"),
    "exp": ((A,), (), {}, "float64"),
    "log": ((P,), (), {}, "float32"),
    "log2": ((P,), (), {}, "float32"),
    "log10": ((P,), (), {}, "float32"),
    "sqrt": ((P,), (), {}, "float32"),
    "sin": ((A,), (), {}, "float32"),
    "cos": ((A,), (), {}, "float32"),
    "tanh": ((A,), (), {}, "float32"),
    "sigmoid": ((A,), (), {}, "float32"),
    "clamp": ((A,), (-0.5, 0.5), {}, "float32"),
    "maximum": ((A, B), (), {}, "float32"),
    "minimum": ((A, B), (), {}, "float32"),
    "sum": ((A,), (1,), {}, "float64"),
    "mean": ((A,), (0,), {"keepdim": True}, "float32"),
    "prod": ((A,), (1,), {}, "float32"),
    "cumsum": ((A,), (1,), {}, "float32"),
    "amax": ((A,), (1,), {}, "float32"),
    "amin": ((A,), (0,), {}, "float32"),
    "remainder": ((A, P), (), {}, "float32"),
    "fmod": ((A, P), (), {}, "float32"),
    "round": ((A * 3,), (), {}, "float32"),
    "floor": ((A,), (), {}, "float32"),
    "ceil": ((A,), (), {}, "float32"),
    "eq": ((A, A), (), {}, "bool"),
    "ne": ((A, B), (), {}, "bool"),
    "lt": ((A, B), (), {}, "float32"),   # bool written into a float out
    "le": ((A, B), (), {}, "bool"),
    "gt": ((A, B), (), {}, "int64"),
    "ge": ((A, B), (), {}, "bool"),
    "logical_and": ((A > 0, B > 0), (), {}, "bool"),
    "logical_or": ((A > 0, B > 0), (), {}, "bool"),
    "logical_not": ((A > 0,), (), {}, "bool"),
}


def _call(lib, name, arrays, extra, kwargs, out):
    return getattr(lib, name)(*[lib.tensor(a) for a in arrays], *extra, **kwargs, out=out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_matches_torch_and_is_returned(name):
    arrays, extra, kwargs, dtype = CASES[name]
    ours, theirs = cr.empty(0, dtype=getattr(cr, dtype)), torch.empty(0, dtype=getattr(torch, dtype))
    got = _call(cr, name, arrays, extra, kwargs, ours)
    want = _call(torch, name, arrays, extra, kwargs, theirs)
    assert got is ours
    assert got.dtype == ours.dtype and str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                               rtol=1e-5, atol=1e-6)


SHAPING = {
    "where": lambda L, a, b, out: L.where(a > 0, a, b, out=out),
    "cat": lambda L, a, b, out: L.cat([a, b], 0, out=out),
    "stack": lambda L, a, b, out: L.stack([a, b], 1, out=out),
    "gather": lambda L, a, b, out: L.gather(a, 1, L.tensor(IDX), out=out),
    "index_select": lambda L, a, b, out: L.index_select(a, 1, L.tensor(SEL), out=out),
}


@pytest.mark.parametrize("name", sorted(SHAPING))
def test_shaping_and_indexing_out(name):
    (ca, ta), (cb, tb) = both(A), both(B)
    o, t = cr.empty(0), torch.empty(0)
    assert SHAPING[name](cr, ca, cb, o) is o
    assert SHAPING[name](torch, ta, tb, t) is t
    assert tuple(o.shape) == tuple(t.shape)
    np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,args", [("max", (1,)), ("min", (0,)), ("sort", (1,)),
                                       ("topk", (2,))])
def test_values_indices_tuple_out(name, args):
    (ca, ta) = both(A)
    cv, ci = cr.empty(0), cr.empty(0, dtype=cr.int64)
    tv, ti = torch.empty(0), torch.empty(0, dtype=torch.long)
    got = getattr(cr, name)(ca, *args, out=(cv, ci))
    want = getattr(torch, name)(ta, *args, out=(tv, ti))
    assert got.values is cv and got.indices is ci and got[0] is cv
    np.testing.assert_allclose(cv.numpy(), tv.numpy())
    np.testing.assert_array_equal(ci.numpy(), ti.numpy())
    assert want.values is tv
    with pytest.raises(RuntimeError, match="dtype long int, but got int instead"):
        getattr(cr, name)(ca, *args, out=(cr.empty(0), cr.empty(0, dtype=cr.int32)))
    with pytest.raises(RuntimeError, match="dtype long int, but got int instead"):
        getattr(torch, name)(ta, *args, out=(torch.empty(0), torch.empty(0, dtype=torch.int32)))
    with pytest.raises(TypeError, match="tuple of 2"):
        getattr(cr, name)(ca, *args, out=cr.empty(0))


def test_argmax_argmin_need_int64_out():
    ca, ta = both(A)
    for name in ("argmax", "argmin"):
        o, t = cr.empty(0, dtype=cr.int64), torch.empty(0, dtype=torch.long)
        assert getattr(cr, name)(ca, 1, out=o) is o
        getattr(torch, name)(ta, 1, out=t)
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        with pytest.raises(RuntimeError, match="long int, but got int instead"):
            getattr(torch, name)(ta, 1, out=torch.empty(0, dtype=torch.int32))
        with pytest.raises(RuntimeError, match="long int, but got int instead"):
            getattr(cr, name)(ca, 1, out=cr.empty(0, dtype=cr.int32))


@pytest.mark.parametrize("name,args,kwargs,dtype", [
    ("zeros", (2, 3), {}, "int64"), ("ones", ((2, 3),), {}, "float64"),
    ("full", ((2, 2), 7), {}, "int32"), ("arange", (5,), {}, "float32"),
    ("arange", (0, 10, 3), {}, "int64"), ("linspace", (0, 1, 5), {}, "float64"),
    ("eye", (3,), {}, "float32"), ("empty", (2, 3), {}, "float32"),
])
def test_factories_take_dtype_and_shape_from_out(name, args, kwargs, dtype):
    o = cr.empty(0, dtype=getattr(cr, dtype))
    t = torch.empty(0, dtype=getattr(torch, dtype))
    got = getattr(cr, name)(*args, **kwargs, out=o)
    want = getattr(torch, name)(*args, **kwargs, out=t)
    assert got is o and tuple(o.shape) == tuple(t.shape)
    assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    if name != "empty":
        np.testing.assert_allclose(o.numpy(), want.numpy())


def test_random_factories_fill_out():
    for name, args in (("rand", (2, 3)), ("randn", (4,)), ("randint", (0, 5, (3,)))):
        o = cr.empty(0)
        assert getattr(cr, name)(*args, out=o) is o
        assert tuple(o.shape) == tuple(getattr(torch, name)(*args, out=torch.empty(0)).shape)


def test_dtype_cast_rule_is_torch_can_cast():
    kinds = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    for a in kinds:
        for b in kinds:
            assert can_cast(np.dtype(a), np.dtype(b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)), (a, b)
    ca, ta = both(A)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        torch.add(ta, ta, out=torch.empty(0, dtype=torch.long))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        cr.add(ca, ca, out=cr.empty(0, dtype=cr.int64))
    i = cr.tensor(np.array([4, 1]))
    with pytest.raises(RuntimeError, match="Float can't be cast to the desired output type Long"):
        cr.sqrt(i, out=cr.empty(0, dtype=cr.int64))
    o = cr.empty(2, dtype=cr.float16)
    cr.add(cr.ones(2, dtype=cr.float64), cr.ones(2), out=o)          # narrowing within a kind
    assert o.dtype == cr.float16 and o.tolist() == [2.0, 2.0]


def test_resize_warns_only_when_out_had_elements():
    ca, ta = both(A)
    for lib, a in ((cr, ca), (torch, ta)):
        o = lib.ones(5)
        with pytest.warns(UserWarning, match=r"An output with one or more elements was resized "
                                             r"since it had shape \[5\]"):
            lib.add(a, a, out=o)
        assert tuple(o.shape) == (3, 4)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.mul(a, a, out=lib.empty(0))
            same = lib.empty(3, 4)
            lib.mul(a, a, out=same)


def test_same_shape_writes_into_storage_views_see_it():
    base = cr.zeros(2, 3)
    row = base[0]
    cr.add(cr.ones(3), 1, out=row)
    assert base.tolist() == [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]


def test_version_bumped():
    o, t = cr.zeros(2), torch.zeros(2)
    v, w = o._version, t._version
    cr.add(o, 1, out=o)
    torch.add(t, 1, out=t)
    assert o._version > v and t._version > w and o.tolist() == [1.0, 1.0]


def test_autograd_refused_like_torch():
    msg = ("functions with out=... arguments don't support automatic differentiation, but one "
           "of the arguments requires grad")
    x, tx = cr.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for lib, a in ((cr, x), (torch, tx)):
        with pytest.raises(RuntimeError, match=msg):
            lib.mul(a, a, out=lib.empty(0))
        with pytest.raises(RuntimeError, match=msg):
            lib.max(a.reshape(1, 2), 1, out=(lib.empty(0), lib.empty(0, dtype=lib.int64)))
        with pytest.raises(RuntimeError, match=msg):      # an out that requires grad
            lib.add(lib.ones(2), lib.ones(2), out=lib.zeros(2, requires_grad=True))
        # not differentiable: allowed
        assert lib.argmax(a, out=lib.empty(0, dtype=lib.int64)).item() == 0
        assert lib.eq(a, a, out=lib.empty(0, dtype=lib.bool)).tolist() == [True, True]
        with lib.no_grad():
            o = lib.empty(0)
            assert lib.mul(a, a, out=o) is o
            leaf = lib.zeros(2, requires_grad=True)
            lib.add(lib.ones(2), 1, out=leaf)
            assert leaf.tolist() == [2.0, 2.0] and leaf.requires_grad


def test_bad_out_is_a_clear_error():
    with pytest.raises(TypeError, match=r"add\(\): argument 'out' must be a Tensor, not int"):
        cr.add(cr.ones(2), 1, out=5)


def test_without_out_signature_and_result_unchanged():
    import inspect
    assert "out" in inspect.signature(cr.add).parameters
    assert inspect.signature(cr.add).parameters["out"].kind is inspect.Parameter.KEYWORD_ONLY
    r = cr.add(cr.ones(2, requires_grad=True), 1)
    assert r.requires_grad and r.tolist() == [2.0, 2.0]
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).shape == (2, 3)
