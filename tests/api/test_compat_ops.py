"""The PyTorch-compatibility functions of issue #18 (part 1) beyond what the op table checks:
namedtuple and index outputs, unique's tuple forms, meshgrid's warning, allclose and numel,
memory_format=, dtype rules and the errors, and second derivatives through the linear ops."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _pair(a):
    return cr.tensor(a), torch.tensor(a)


# -- sort and argsort: namedtuples, ties in stable order ------------------------------------------
@pytest.mark.parametrize("descending", [False, True])
def test_sort_namedtuple_and_ties_match_torch(descending):
    a = np.array([[2, 1, 2, 0, 1, 2], [3, 3, -1, 3, 0, -1]], dtype=np.float32)
    x, t = _pair(a)
    got, want = cr.sort(x, dim=1, descending=descending, stable=True), \
        torch.sort(t, dim=1, descending=descending, stable=True)
    assert got._fields == ("values", "indices")
    values, indices = got                        # unpacks as torch's return_types.sort
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.dtype == np.int64
    np.testing.assert_array_equal(
        cr.argsort(x, dim=-1, descending=descending, stable=True).numpy(),
        torch.argsort(t, dim=-1, descending=descending, stable=True).numpy())


def test_sort_nan_ranks_above_numbers_as_torch():
    a = np.array([1.0, np.nan, -2.0, np.nan, 0.5])
    for desc in (False, True):
        got = cr.sort(cr.tensor(a), descending=desc)
        want = torch.sort(torch.tensor(a), descending=desc, stable=True)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


# -- unique -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True},
                                {"sorted": False, "return_inverse": True},
                                {"dim": 0, "return_inverse": True, "return_counts": True},
                                {"dim": 1, "return_counts": True}])
def test_unique_forms_match_torch(kw):
    a = np.array([[1, 2, 1], [0, 2, 1], [1, 2, 1]])
    got, want = cr.unique(cr.tensor(a), **kw), torch.unique(torch.tensor(a), **kw)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.dtype(str(w.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_unique_nans_are_distinct_and_method_form():
    a = np.array([3.0, np.nan, 1.0, 3.0, np.nan])
    got = cr.tensor(a).unique(return_inverse=True, return_counts=True)
    want = torch.tensor(a).unique(return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_unique_is_not_differentiable():
    out = cr.unique(cr.tensor([1.0, 1.0, 2.0], requires_grad=True))
    assert not out.requires_grad and out.grad_fn is None


# -- meshgrid ---------------------------------------------------------------------------------------
def test_meshgrid_default_is_ij_and_warns_like_torch():
    a, b = np.arange(2.0), np.arange(3.0)
    with pytest.warns(UserWarning, match="indexing"):
        got = cr.meshgrid(cr.tensor(a), cr.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.meshgrid(torch.tensor(a), torch.tensor(b))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # naming the indexing: no warning
        xy = cr.meshgrid([cr.tensor(a), cr.tensor(b)], indexing="xy")
    assert xy[0].shape == (3, 2)
    with pytest.raises(ValueError, match="indexing must be 'ij' or 'xy'"):
        cr.meshgrid(cr.tensor(a), indexing="yx")


# -- allclose, numel, nelement ------------------------------------------------------------------------
@pytest.mark.parametrize("b, kw", [([1.0, 2.0 + 1e-6], {}), ([1.0, 2.1], {}),
                                   ([1.0, 2.1], {"atol": 0.2}), ([1.0, 2.1], {"rtol": 0.01}),
                                   ([[1.0, 2.0], [1.0, 2.0]], {})])
def test_allclose_matches_torch(b, kw):
    a = [1.0, 2.0]
    assert cr.allclose(cr.tensor(a), cr.tensor(b), **kw) == \
        torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
    assert cr.tensor(a).allclose(cr.tensor(b), **kw) == \
        torch.tensor(a).allclose(torch.tensor(b), **kw)


def test_allclose_nan_and_dtype_rules():
    n = [1.0, float("nan")]
    assert cr.allclose(cr.tensor(n), cr.tensor(n)) is False
    assert cr.allclose(cr.tensor(n), cr.tensor(n), equal_nan=True) is True
    with pytest.raises(RuntimeError, match="float32 did not match float64"):
        cr.allclose(cr.ones(2), cr.ones(2, dtype=cr.float64))


def test_numel_function_and_nelement_method():
    x = cr.ones(2, 3, 4)
    assert cr.numel(x) == x.nelement() == x.numel() == torch.numel(torch.ones(2, 3, 4)) == 24
    assert type(cr.numel(x)) is int


# -- memory_format= and contiguous ------------------------------------------------------------------
def test_memory_format_is_accepted_where_torch_code_passes_it():
    x = cr.randn(2, 3, 4, 5, requires_grad=True)
    for fmt in (cr.contiguous_format, cr.preserve_format, cr.channels_last):
        assert x.float(memory_format=fmt) is x          # already float32: self, as torch's
        assert x.double(memory_format=fmt).dtype == np.float64
        assert x.half(memory_format=fmt).dtype == np.float16
        assert x.cpu(memory_format=fmt) is x
        assert x.contiguous(memory_format=fmt) is x
        assert cr.clone(x, memory_format=fmt) is not x
        assert x.clone(memory_format=fmt).grad_fn is not None
        for like in (cr.empty_like, cr.zeros_like, cr.ones_like, cr.rand_like, cr.randn_like):
            assert like(x, memory_format=fmt).shape == x.shape
        assert cr.full_like(x, 2.0, memory_format=fmt).shape == x.shape
        assert cr.empty(2, 3, 4, 5, memory_format=fmt).shape == (2, 3, 4, 5)
    with pytest.raises(TypeError, match="memory_format"):
        x.contiguous(memory_format="channels_last")
    with pytest.raises(TypeError, match="memory_format"):
        x.float(memory_format=1)


_RANKED_FORMAT_CALLS = {
    "to": lambda lib, x, f: x.to(memory_format=f),
    "contiguous": lambda lib, x, f: x.contiguous(memory_format=f),
    "float": lambda lib, x, f: x.float(memory_format=f),
    "double": lambda lib, x, f: x.double(memory_format=f),
    "half": lambda lib, x, f: x.half(memory_format=f),
    "cpu": lambda lib, x, f: x.cpu(memory_format=f),
    "clone": lambda lib, x, f: lib.clone(x, memory_format=f),
    "empty_like": lambda lib, x, f: lib.empty_like(x, memory_format=f),
    "zeros_like": lambda lib, x, f: lib.zeros_like(x, memory_format=f),
    "empty": lambda lib, x, f: lib.empty(*x.shape, memory_format=f),
}


@pytest.mark.parametrize("call", list(_RANKED_FORMAT_CALLS))
@pytest.mark.parametrize("shape, fmt", [((2, 3, 4), "channels_last"),
                                        ((1, 2, 3, 4, 5), "channels_last"),
                                        ((1, 2, 3, 4), "channels_last_3d"),
                                        ((2, 3), "channels_last")])
def test_channels_last_on_the_wrong_rank_is_refused_as_torch(call, shape, fmt):
    fn = _RANKED_FORMAT_CALLS[call]
    with pytest.raises(RuntimeError, match="rank"):
        fn(torch, torch.ones(shape), getattr(torch, fmt))
    with pytest.raises(RuntimeError) as info:
        fn(cr, cr.ones(shape), getattr(cr, fmt))
    assert fmt in str(info.value) and f"{len(shape)}-D" in str(info.value)


def test_contiguous_copies_only_a_strided_tensor_and_keeps_the_gradient():
    x = cr.randn(3, 4, requires_grad=True)
    xt = x.t()
    assert not xt._data.flags.c_contiguous
    c = xt.contiguous()
    assert c is not xt and c._data.flags.c_contiguous
    np.testing.assert_array_equal(c.numpy(), xt.numpy())
    (c * cr.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(np.arange(3.0), (4, 3)).T)


# -- dtypes and errors --------------------------------------------------------------------------------
def test_unary_dtypes_as_torch():
    i = np.array([1, 1])          # in every domain: no NaN warnings
    for name in ("acos", "asin", "atan", "sinh", "cosh", "log10", "floor", "ceil"):
        got = getattr(cr, name)(cr.tensor(i))
        want = getattr(torch, name)(torch.tensor(i))
        assert got.dtype == np.dtype(str(want.dtype).replace("torch.", "")), name
    x = cr.tensor([1.5, -1.5], requires_grad=True)
    cr.floor(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])    # zero, as torch's


@pytest.mark.parametrize("fn, match", [
    (lambda: cr.dot(cr.ones(2), cr.ones(2, dtype=cr.float64)), "dot: .*same dtype"),
    (lambda: cr.dot(cr.ones(2), cr.ones(3)), "dot: inconsistent tensor size"),
    (lambda: cr.mv(cr.ones(2, 2), cr.ones(3)), "mv: size mismatch"),
    (lambda: cr.addmm(cr.ones(2, 2), cr.ones(2, 3), cr.ones(2, 2)), "cannot be multiplied"),
    (lambda: cr.addmm(cr.ones(3, 3), cr.ones(2, 2), cr.ones(2, 2)), "does not broadcast"),
    (lambda: cr.tril(cr.ones(3)), "at least 2 dimensions"),
    (lambda: cr.outer(cr.ones(2, 2), cr.ones(2)), "outer: 1D tensors expected"),
])
def test_product_and_triangle_errors(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn()


def test_scatter_and_index_add_errors():
    x = cr.zeros(3, 4)
    idx = cr.tensor([[0, 1]])
    with pytest.raises(TypeError, match="self.dtype to be equal to src.dtype"):
        cr.scatter(x, 1, idx, cr.ones(1, 2, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="reduce must be 'add' or 'multiply'"):
        cr.scatter(x, 1, idx, cr.ones(1, 2), reduce="sum")
    with pytest.raises(IndexError, match="scatter: index 4 is out of bounds"):
        cr.scatter(x, 1, cr.tensor([[4]]), 1.0)
    with pytest.raises(TypeError, match="index_add.*same scalar type"):
        cr.index_add(x, 0, cr.tensor([0]), cr.ones(1, 4, dtype=cr.float64))
    with pytest.raises(ValueError, match="index_add.*must have shape"):
        cr.index_add(x, 0, cr.tensor([0]), cr.ones(2, 4))


def test_addmm_beta_zero_ignores_nan_and_gives_a_zero_gradient():
    i = cr.tensor([[np.nan, 1.0], [2.0, np.inf]], requires_grad=True)
    a = cr.ones(2, 2, requires_grad=True)
    out = cr.addmm(i, a, a, beta=0)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 2.0))
    out.sum().backward()
    np.testing.assert_array_equal(i.grad.numpy(), np.zeros((2, 2)))


def test_nuclear_norm_gradient_is_u_vt_and_needs_a_matrix():
    a = np.random.default_rng(0).standard_normal((4, 3))
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    cr.norm(x, p="nuc").backward()
    torch.norm(t, p="nuc").backward()
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(x.grad.numpy(), u @ vh, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
        cr.norm(cr.ones(2, 3, 4), p="nuc")


def test_softmax_function_forms_take_a_positional_dtype():
    a = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    got = cr.softmax(cr.tensor(a), 1, cr.float64)
    want = torch.softmax(torch.tensor(a), 1, torch.float64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(cr.log_softmax(cr.tensor(a), dim=0).numpy(),
                               torch.log_softmax(torch.tensor(a), dim=0).numpy(), rtol=1e-6)


# -- second derivatives through the linear placing ops (create_graph) -----------------------------
@pytest.mark.parametrize("name", ["scatter", "index_add", "tril", "meshgrid", "narrow"])
def test_second_derivative_through_linear_ops_matches_torch(name):
    """f(x) = Σ w·op(x)³: the Hessian-vector product flows back through the op twice."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4))
    idx = np.array([[2, 0, 1], [1, 3, 0]])      # no position written twice

    def run(lib, x):
        tensor = cr.tensor if lib is cr else torch.tensor
        if name == "scatter":
            y = lib.scatter(x, 1, tensor(idx), x[1:, 1:] * 2)
        elif name == "index_add":
            y = lib.index_add(x, 0, tensor(np.array([2, 0, 2])), x * x)
        elif name == "tril":
            y = lib.tril(x, -1)
        elif name == "meshgrid":
            y = lib.meshgrid(x[0], x[1], indexing="xy")[0]
        else:
            y = lib.narrow(x, 1, 1, 2)
        return y

    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = run(cr, x), run(torch, t)
    w = rng.standard_normal(tuple(y.shape))
    (g,) = cr.autograd.grad((y * y * y * cr.tensor(w)).sum(), [x], create_graph=True)
    (tg,) = torch.autograd.grad((ty * ty * ty * torch.tensor(w)).sum(), [t], create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(a.shape)
    (h,) = cr.autograd.grad((g * cr.tensor(v)).sum(), [x])
    (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), [t])
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)
