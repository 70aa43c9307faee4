"""Every public function and Tensor method that takes a ``dim`` checks it as PyTorch does.

One table: each row is a call written once against a module ``m`` (``chainrule`` or ``torch``,
whose names agree), so the same lambda runs on both. A dim outside [−n, n − 1] (n = ndim, or
ndim + 1 for the new dim of unsqueeze/stack; a 0-d tensor counting as 1-d) is an IndexError that
names the op and the range; every valid dim, and dims 0 and −1 of a 0-d tensor, give torch's
result; a bool or float dim, and a repeated dim in a tuple, fail where torch fails.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr

X3 = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
X0 = np.array(0.75, np.float32)


def _idx(m, x, d):
    """An int64 index of x's shape, valid along every dim (zeros and ones where size allows)."""
    a = np.zeros(tuple(x.shape), np.int64)
    if x.ndim and isinstance(d, int) and -x.ndim <= d < x.ndim and x.shape[d] > 1:
        a = (np.arange(a.size).reshape(a.shape) % 2).astype(np.int64)
    return m.tensor(a)


def _F(m):
    return m.nn.functional


# (op name the error must carry, call(m, x, d), extra: the valid dims are [-n, n-1] with
#  n = x.ndim + extra; 1 for the new dim of unsqueeze/stack)
ROWS = [
    ("sum", lambda m, x, d: m.sum(x, d), 0),
    ("sum", lambda m, x, d: x.sum(d, keepdim=True), 0),
    ("mean", lambda m, x, d: m.mean(x, d), 0),
    ("amax", lambda m, x, d: m.amax(x, d), 0),
    ("amin", lambda m, x, d: x.amin(d), 0),
    ("max", lambda m, x, d: m.max(x, d), 0),
    ("max", lambda m, x, d: x.max(d, keepdim=True), 0),
    ("min", lambda m, x, d: m.min(x, d), 0),
    ("prod", lambda m, x, d: m.prod(x, d), 0),
    ("logsumexp", lambda m, x, d: m.logsumexp(x, d), 0),
    ("std", lambda m, x, d: m.std(x, d), 0),
    ("var", lambda m, x, d: x.var(d, correction=0), 0),
    ("var_mean", lambda m, x, d: m.var_mean(x, d), 0),
    ("std_mean", lambda m, x, d: m.std_mean(x, d, keepdim=True), 0),
    ("argmax", lambda m, x, d: m.argmax(x, d), 0),
    ("argmin", lambda m, x, d: x.argmin(d), 0),
    ("all", lambda m, x, d: m.all(x > 0, d), 0),
    ("any", lambda m, x, d: m.any(x > 0, d), 0),
    ("cumsum", lambda m, x, d: m.cumsum(x, d), 0),
    ("cumsum", lambda m, x, d: x.cumsum(d), 0),
    ("softmax", lambda m, x, d: _F(m).softmax(x, d), 0),
    ("softmax", lambda m, x, d: x.softmax(d), 0),
    ("log_softmax", lambda m, x, d: _F(m).log_softmax(x, d), 0),
    ("softmin", lambda m, x, d: _F(m).softmin(x, d), 0),
    ("log_softmax", lambda m, x, d: m.nn.LogSoftmax(d)(x), 0),
    ("flatten", lambda m, x, d: m.nn.Flatten(d)(x), 0),
    ("norm", lambda m, x, d: m.norm(x, 2, d), 0),
    ("norm", lambda m, x, d: x.norm(1, d), 0),
    ("unsqueeze", lambda m, x, d: m.unsqueeze(x, d), 1),
    ("unsqueeze", lambda m, x, d: x.unsqueeze(d), 1),
    ("stack", lambda m, x, d: m.stack([x, x], d), 1),
    ("cat", lambda m, x, d: m.cat([x, x], d), 0),
    ("flip", lambda m, x, d: m.flip(x, (d,)), 0),
    ("flip", lambda m, x, d: x.flip(d), 0),
    ("roll", lambda m, x, d: m.roll(x, 1, d), 0),
    ("split", lambda m, x, d: m.split(x, 1, d), 0),
    ("split", lambda m, x, d: x.split([1, x.shape[d % x.ndim] - 1], d), 0),
    ("chunk", lambda m, x, d: m.chunk(x, 2, d), 0),
    ("squeeze", lambda m, x, d: m.squeeze(x, d), 0),
    ("squeeze", lambda m, x, d: x.reshape(1, *x.shape, 1).squeeze(d), 2),  # on ndim + 2 dims
    ("transpose", lambda m, x, d: m.transpose(x, d, 0), 0),
    ("transpose", lambda m, x, d: x.transpose(-1, d), 0),
    ("permute", lambda m, x, d: x.permute(d, *[i for i in range(x.ndim) if i != d % x.ndim]), 0),
    ("flatten", lambda m, x, d: m.flatten(x, d), 0),
    ("flatten", lambda m, x, d: x.flatten(0, d), 0),
    ("unflatten", lambda m, x, d: m.unflatten(x, d, (1, -1)), 0),
    ("unflatten", lambda m, x, d: m.nn.Unflatten(d, (-1, 1))(x), 0),
    ("movedim", lambda m, x, d: m.movedim(x, d, 0), 0),
    ("movedim", lambda m, x, d: x.movedim(0, d), 0),
    ("gather", lambda m, x, d: m.gather(x, d, _idx(m, x, d)), 0),
    ("gather", lambda m, x, d: x.gather(d, _idx(m, x, d)), 0),
    ("scatter_add", lambda m, x, d: m.scatter_add(x, d, _idx(m, x, d), x), 0),
    ("index_select", lambda m, x, d: m.index_select(x, d, m.tensor([0, 0])), 0),
    ("take_along_dim", lambda m, x, d: m.take_along_dim(x, _idx(m, x, d), d), 0),
    ("topk", lambda m, x, d: m.topk(x, 1, d), 0),
    ("topk", lambda m, x, d: x.topk(1, d, largest=False), 0),
    ("size", lambda m, x, d: x.size(d), 0),
    ("sort", lambda m, x, d: m.sort(x, d), 0),
    ("sort", lambda m, x, d: x.sort(d, True), 0),
    ("argsort", lambda m, x, d: m.argsort(x, d, descending=True), 0),
    ("narrow", lambda m, x, d: m.narrow(x, d, 1, 1) if x.ndim else m.narrow(x, d, 0, 1), 0),
    ("narrow", lambda m, x, d: x.narrow(d, -1, 1), 0),
    ("select", lambda m, x, d: m.select(x, d, -1), 0),
    ("select", lambda m, x, d: x.select(d, 1), 0),
    ("unbind", lambda m, x, d: m.unbind(x, d), 0),
    ("unbind", lambda m, x, d: x.unbind(d), 0),
    ("repeat_interleave", lambda m, x, d: m.repeat_interleave(x, 2, d), 0),
    ("repeat_interleave", lambda m, x, d: x.repeat_interleave(
        m.tensor(np.arange(x.shape[d % x.ndim]) % 3) if x.ndim else 2, d), 0),
]
IDS = [f"{i}-{name}" for i, (name, _, _) in enumerate(ROWS)]
ZERO_D_SKIP = {"permute"}  # the row builds its permutation with d % ndim


def _arrays(out):
    """An op's result as a list of arrays (a tensor, or a tuple of them)."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _arrays(o)]
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    return [np.asarray(out.numpy() if isinstance(out, cr.Tensor) else out)]


def _call(module, fn, x, d):
    x = module.tensor(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns for std of one element, mT of a 0-d...
        return fn(module, x, d)


def _same_as_torch(fn, x, d):
    """chainrule's result equals torch's; where torch raises, chainrule raises the same type."""
    try:
        want = _arrays(_call(torch, fn, x, d))
    except Exception as exc:  # noqa: BLE001 - torch's exception type is the oracle
        with pytest.raises(type(exc)):
            _call(cr, fn, x, d)
        return
    got = _arrays(_call(cr, fn, x, d))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-5,
                                   atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name,fn,extra", ROWS, ids=IDS)
def test_every_valid_dim_matches_torch(name, fn, extra):
    n = X3.ndim + extra
    for d in range(-n, n):
        _same_as_torch(fn, X3, d)


@pytest.mark.parametrize("name,fn,extra", ROWS, ids=IDS)
def test_out_of_range_dim_is_an_index_error_naming_op_and_range(name, fn, extra):
    n = X3.ndim + extra
    for d in (n, -n - 1):
        with pytest.raises(IndexError, match=rf"{name}.*\[{-n}, {n - 1}\].*got {d}\)"):
            _call(cr, fn, X3, d)
        with pytest.raises(IndexError, match=rf"\[{-n}, {n - 1}\]"):
            _call(torch, fn, X3, d)


@pytest.mark.parametrize("name,fn,extra", [r for r in ROWS if r[0] not in ZERO_D_SKIP],
                         ids=[i for i, r in zip(IDS, ROWS) if r[0] not in ZERO_D_SKIP])
def test_zero_d_input_dims_0_and_minus_1_match_torch(name, fn, extra):
    for d in (0, -1, 1, -2):
        _same_as_torch(fn, X0, d)


@pytest.mark.parametrize("name,fn,extra", ROWS, ids=IDS)
@pytest.mark.parametrize("bad", [True, 1.0], ids=["bool", "float"])
def test_bool_or_float_dim_behaves_as_in_torch(name, fn, extra, bad):
    _same_as_torch(fn, X3, bad)


@pytest.mark.parametrize("name,fn,extra", ROWS, ids=IDS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_any_shape_and_dim_behaves_as_in_torch(name, fn, extra, data):
    """1- to 4-d shapes with sizes 1-3, and any dim from one below the range to one above."""
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=4), label="shape"))
    n = len(shape) + extra
    d = data.draw(st.integers(-n - 1, n), label="dim")
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    _same_as_torch(fn, x, d)


def test_cat_dim_5_on_matrices_is_an_index_error_not_a_wrap():
    a = cr.zeros(2, 3)
    with pytest.raises(IndexError, match=r"cat: Dimension out of range \(expected to be in "
                                         r"range of \[-2, 1\], but got 5\)"):
        cr.cat([a, a], dim=5)


@pytest.mark.parametrize("call", [
    lambda m, x: m.sum(x, (0, -3)), lambda m, x: m.mean(x, (1, 1)), lambda m, x: m.amax(x, [2, -1]),
    lambda m, x: m.logsumexp(x, (0, 0)), lambda m, x: m.all(x > 0, (1, 1)),
    lambda m, x: m.std(x, (0, 0)), lambda m, x: m.var_mean(x, (2, -1)),
    lambda m, x: m.norm(x, 2, (0, 0)), lambda m, x: m.flip(x, (1, -2)),
    lambda m, x: m.squeeze(x, (0, 0)), lambda m, x: x.permute(0, 0, 1),
    lambda m, x: m.movedim(x, (0, 0), (1, 2)), lambda m, x: m.roll(x, (1, 1), (0, 0)),
    lambda m, x: m.sum(x, (0, 5)), lambda m, x: m.squeeze(x, (0, -4)),
])
def test_repeated_or_bad_dims_in_a_tuple_behave_as_in_torch(call):
    _same_as_torch(lambda m, x, d: call(m, x), X3, None)


def test_tensor_mT_needs_a_matrix():
    with pytest.raises(RuntimeError, match="mT"):
        cr.zeros(3).mT
    assert cr.zeros(2, 3, 4).mT.shape == (2, 4, 3)


@pytest.mark.parametrize("call", [
    lambda m, x: m.sort(x, 1, True).values, lambda m, x: m.narrow(x, 2, 1, 2),
    lambda m, x: m.select(x, 0, -1), lambda m, x: m.stack(m.unbind(x, 1)[::-1], 0),
    lambda m, x: m.repeat_interleave(x, m.tensor([2, 0, 1]), 1),
    lambda m, x: m.repeat_interleave(x, 3), lambda m, x: m.topk(x, 2, 0).values,
])
def test_readers_along_a_dim_pass_gradients_as_torch(call):
    w = np.random.default_rng(2).standard_normal
    xs = cr.tensor(X3, requires_grad=True), torch.tensor(X3, requires_grad=True)
    outs = [call(m, x) for m, x in zip((cr, torch), xs)]
    g = w(tuple(outs[1].shape)).astype(np.float32)
    (outs[0] * cr.tensor(g)).sum().backward()
    (outs[1] * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), rtol=1e-6, atol=1e-6)
