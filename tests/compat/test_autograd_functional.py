"""chainrule.autograd.functional against torch.autograd.functional: same calls, same results."""
import inspect

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import chainrule as cr

NAMES = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_torch(name):
    ours = inspect.signature(getattr(cr.autograd.functional, name)).parameters
    theirs = inspect.signature(getattr(TF, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal(3)


def _f(lib):
    def f(x, w):
        return (x[:2] * w).tanh() * x.sum()            # R³ × R² -> R²
    def s(x, w):
        return ((x[:2] * w).sin() * x.sum()).sum()     # scalar
    return f, s


def _both(fn_name, make_args, **kw):
    out = []
    for lib, F in ((torch, TF), (cr, cr.autograd.functional)):
        f, s = _f(lib)
        args = make_args(lib)
        res = getattr(F, fn_name)(f if fn_name in ("vjp", "jvp", "jacobian") else s, *args, **kw)
        out.append(res)
    return out


def _t(lib, a):
    return lib.tensor(a, dtype=lib.float64)


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [y for z in r for y in _flat(z)]
    return [np.asarray(r.detach().numpy())]


@pytest.mark.parametrize("name", NAMES)
def test_results_match_torch(name):
    x, w, v3 = _data()
    def args(lib):
        inputs = (_t(lib, x), _t(lib, w))
        if name in ("jacobian", "hessian"):
            return (inputs,)
        if name == "vjp":
            return inputs, _t(lib, np.array([0.3, -0.7]))
        return inputs, (_t(lib, v3), _t(lib, np.array([1.0, 2.0])))
    rt, rc = _both(name, args)
    ft, fc = _flat(rt), _flat(rc)
    assert len(ft) == len(fc)
    for a, b in zip(ft, fc):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_single_input_gives_a_tensor_and_strict_raises():
    for lib, F in ((torch, TF), (cr, cr.autograd.functional)):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64)
        J = F.jacobian(lambda t: t * t, x)
        assert tuple(J.shape) == (2, 2)
        np.testing.assert_allclose(J.numpy(), np.diag([2.0, 4.0]))
        H = F.hessian(lambda t: (t ** 3).sum(), x)
        np.testing.assert_allclose(H.numpy(), np.diag([6.0, 12.0]))
        with pytest.raises(RuntimeError):
            F.vjp(lambda a, b: a * 2, (x, x.clone()), lib.ones(2, dtype=lib.float64), strict=True)


def test_create_graph_keeps_results_differentiable():
    gs = []
    for lib, F in ((torch, TF), (cr, cr.autograd.functional)):
        x = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        _, g = F.vjp(lambda t: (t ** 3).sum(), x, create_graph=True)
        assert g.requires_grad
        g.sum().backward()
        gs.append(x.grad.numpy().copy())                # 6x
        _, g = F.vjp(lambda t: (t ** 3).sum(), x)
        assert not g.requires_grad
    np.testing.assert_allclose(gs[1], gs[0])
