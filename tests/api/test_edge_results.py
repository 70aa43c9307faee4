"""Edge results PyTorch defines: var/std with too few degrees of freedom (it divides by
max(n − correction, 0)), and sign, which is differentiable with a zero gradient."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("shape,dim,correction", [
    ((3,), None, 5),          # n − correction < 0: 2/0 = inf, not 2/−2 = −1
    ((3,), None, 3),
    ((1, 4), 0, 1),           # one sample: 0/0 = nan
    ((0, 3), 0, 1),           # empty dim: nan, not −0
    ((0, 3), 0, 0),
    ((2, 3), 1, 2.5),         # a fractional correction
])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_too_few_degrees_of_freedom_match_torch(fn, shape, dim, correction):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    kw = {} if dim is None else {"dim": dim}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = getattr(cr, fn)(cr.tensor(x), correction=correction, **kw).numpy()
        want = getattr(torch, fn)(torch.tensor(x), correction=correction, **kw).numpy()
    np.testing.assert_array_equal(got, want)


def test_sign_is_differentiable_with_a_zero_gradient():
    def run(lib):
        x = lib.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        y = lib.sign(x)
        assert y.requires_grad
        (y * 5).sum().backward()
        return np.asarray(x.grad).copy(), np.asarray(y.detach()).copy()
    for a, b in zip(run(cr), run(torch)):
        np.testing.assert_array_equal(a, b)
    assert cr.sign(cr.tensor([-3, 0, 2])).numpy().tolist() == [-1, 0, 1]


def test_softplus_gradient_is_rounded_as_pytorch_rounds_it():
    """The float32 gradient is within an ulp of PyTorch's everywhere (NumPy's exp and PyTorch's
    may differ by one), and equal to it at the threshold x = 20, where the composition
    log1p(exp(x)) gave 1 − 2⁻²⁴ (and before that 0.5)."""
    pts = np.array([20.0, 19.999998, 20.000002, 19.0, 15.0, 5.0, 0.0, -20.0, -30.0, -100.0],
                   np.float32)
    upstream = np.linspace(-2, 3, len(pts)).astype(np.float32)

    def run(lib, F):
        x = lib.tensor(pts, requires_grad=True)
        y = F.softplus(x)
        (y * lib.tensor(upstream)).sum().backward()
        return np.asarray(y.detach()).copy(), np.asarray(x.grad).copy()
    (y, g), (ty, tg) = run(cr, cr.nn.functional), run(torch, torch.nn.functional)
    np.testing.assert_array_max_ulp(g, tg, maxulp=1)
    np.testing.assert_array_max_ulp(y, ty, maxulp=1)
    assert g[0] == tg[0] == upstream[0]   # σ(20) rounds to 1 in float32


def test_softplus_second_derivative_matches_torch():
    pts = [19.5, 3.0, 0.0, -4.0]

    def run(lib, F):
        x = lib.tensor(pts, dtype=lib.float64, requires_grad=True)
        (g,) = (torch.autograd.grad if lib is torch else cr.autograd.grad)(
            F.softplus(x, 2.0, 30.0).sum(), x, create_graph=True)
        (h,) = (torch.autograd.grad if lib is torch else cr.autograd.grad)(g.sum(), x)
        return np.asarray(h).copy()
    np.testing.assert_allclose(run(cr, cr.nn.functional), run(torch, torch.nn.functional),
                               rtol=1e-12)


@pytest.mark.parametrize("dim", [-1, 1, 0])
def test_cat_with_a_leading_empty_1d_tensor_uses_the_others_dims(dim):
    """PyTorch skips (0,) tensors in cat, so dim counts in the other tensors' rank."""
    def run(lib):
        parts = [lib.tensor([]), lib.ones(2, 3), 2 * lib.ones(2, 3)]
        return np.asarray(lib.cat(parts, dim=dim))
    np.testing.assert_array_equal(run(cr), run(torch))


@pytest.mark.parametrize("make,dims", [(lambda lib: lib.tensor([1.0, 2.0]), ()),
                                       (lambda lib: lib.tensor(3.0), (0,))])
def test_flip_with_nothing_to_reverse_is_a_copy(make, dims):
    for lib in (cr, torch):
        x = make(lib)
        y = lib.flip(x, dims)
        y.fill_(9.0)
        assert np.asarray(x).ravel()[0] != 9.0, lib.__name__
