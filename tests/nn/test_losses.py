"""Loss modules against PyTorch's (values and gradients, every reduction), finite at logits of
±1e4, hinge loss against its formula, argument errors, and second derivatives through the fused
primitives (create_graph)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck
from tests.nn._compare import close

tnn = torch.nn
REDUCTIONS = pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def _pair(loss, tloss, x, t, dtype, t_grad=False):
    """Evaluate both loss modules on (x, t) and compare the value and the input gradients."""
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    tdiff = t_grad and t.dtype.kind == "f"
    tc, tt = cr.tensor(t, requires_grad=tdiff), torch.tensor(t, requires_grad=tdiff)
    y, yt = loss(xc, tc), tloss(xt, tt)
    close(y, yt, dtype, f"{type(loss).__name__} value")
    assert y.dtype == dtype and np.isfinite(y.numpy()).all()
    w = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
    (y * cr.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert xc.grad.dtype == dtype and np.isfinite(xc.grad.numpy()).all()
    close(xc.grad, xt.grad, dtype, f"{type(loss).__name__} input gradient")
    if tdiff:
        close(tc.grad, tt.grad, dtype, f"{type(loss).__name__} target gradient")


def _rng(seed=0):
    return np.random.default_rng(seed)


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["unit", "1e4"])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"weight": True},
                                {"ignore_index": 2}, {"weight": True, "label_smoothing": 0.1,
                                                      "ignore_index": 0}], ids=str)
def test_cross_entropy(dtype, reduction, scale, kw):
    rng = _rng()
    x = (rng.standard_normal((6, 4)) * scale).astype(dtype)
    x[0] = [scale, -scale, 0, scale]                     # extreme logits in one row
    t = rng.integers(0, 4, 6)
    t[1] = 2
    kw = dict(kw)
    tkw = dict(kw)
    if kw.pop("weight", False):
        w = np.array([0.5, 2.0, 1.0, 1.5], dtype=dtype)
        kw["weight"], tkw["weight"] = cr.tensor(w), torch.tensor(w)
    _pair(nn.CrossEntropyLoss(reduction=reduction, **kw),
          tnn.CrossEntropyLoss(reduction=reduction, **tkw), x, t, dtype)


@DTYPES
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["unit", "1e4"])
def test_cross_entropy_probabilities_and_spatial(dtype, scale):
    rng = _rng(1)
    x = (rng.standard_normal((2, 3, 4, 5)) * scale).astype(dtype)
    p = rng.dirichlet(np.ones(3), (2, 4, 5)).transpose(0, 3, 1, 2).astype(dtype)
    _pair(nn.CrossEntropyLoss(label_smoothing=0.1), tnn.CrossEntropyLoss(label_smoothing=0.1),
          x, p, dtype, t_grad=True)
    t = rng.integers(0, 3, (2, 4, 5))
    _pair(nn.CrossEntropyLoss(reduction="none"), tnn.CrossEntropyLoss(reduction="none"), x, t,
          dtype)


def test_cross_entropy_unbatched_and_all_ignored():
    x = cr.tensor([1.0, 2.0, 0.5], requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor(1))
    tl = torch.nn.functional.cross_entropy(torch.tensor([1.0, 2.0, 0.5]), torch.tensor(1))
    assert loss.shape == () and abs(loss.item() - tl.item()) < 1e-6
    nan = F.cross_entropy(cr.randn(2, 3), cr.tensor([-100, -100]))
    assert np.isnan(nan.item())                            # 0/0, as PyTorch gives


@DTYPES
@REDUCTIONS
def test_nll_loss(dtype, reduction):
    rng = _rng(2)
    x = np.log(rng.dirichlet(np.ones(5), 7)).astype(dtype)
    t = rng.integers(0, 5, 7)
    t[3] = -100
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    _pair(nn.NLLLoss(cr.tensor(w), reduction=reduction),
          tnn.NLLLoss(torch.tensor(w), reduction=reduction), x, t, dtype)


@DTYPES
@REDUCTIONS
def test_bce(dtype, reduction):
    rng = _rng(3)
    x = rng.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    t = rng.uniform(0, 1, (4, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (4, 3)).astype(dtype)
    _pair(nn.BCELoss(cr.tensor(w), reduction=reduction),
          tnn.BCELoss(torch.tensor(w), reduction=reduction), x, t, dtype, t_grad=True)


def test_bce_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(cr.tensor(x), cr.tensor(t), reduction="none")
    tl = torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(t),
                                                  reduction="none")
    np.testing.assert_array_equal(loss.numpy(), tl.numpy())
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["unit", "1e4"])
@pytest.mark.parametrize("pos", [False, True], ids=["plain", "pos_weight"])
def test_bce_with_logits(dtype, reduction, scale, pos):
    rng = _rng(4)
    x = (rng.standard_normal((5, 3)) * scale).astype(dtype)
    x[0] = [scale, -scale, 0.0]
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    t[0] = [0.0, 1.0, 0.5]                                 # the worst cases: confidently wrong
    w = rng.uniform(0.5, 2, (5, 3)).astype(dtype)
    kw, tkw = {"weight": cr.tensor(w)}, {"weight": torch.tensor(w)}
    if pos:
        pw = np.array([0.5, 2.0, 3.0], dtype=dtype)
        kw["pos_weight"], tkw["pos_weight"] = cr.tensor(pw), torch.tensor(pw)
    _pair(nn.BCEWithLogitsLoss(reduction=reduction, **kw),
          tnn.BCEWithLogitsLoss(reduction=reduction, **tkw), x, t, dtype, t_grad=True)


def test_bce_with_logits_pos_weight_gradient():
    """PyTorch does not differentiate pos_weight; chainrule does, checked by finite differences."""
    rng = _rng(5)
    args = [cr.tensor(rng.standard_normal((4, 3)), requires_grad=True),
            cr.tensor(rng.uniform(0, 1, (4, 3)), requires_grad=True),
            cr.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)]
    assert gradcheck(lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, pos_weight=p),
                     args)


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("make", [
    lambda m: m.MSELoss, lambda m: m.L1Loss, lambda m: (lambda **k: m.HuberLoss(delta=0.5, **k)),
    lambda m: (lambda **k: m.SmoothL1Loss(beta=0.3, **k)),
    lambda m: (lambda **k: m.SmoothL1Loss(beta=0.0, **k))],
    ids=["mse", "l1", "huber", "smooth_l1", "smooth_l1_beta0"])
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["unit", "1e4"])
def test_regression(dtype, reduction, make, scale):
    rng = _rng(6)
    x = (rng.standard_normal((3, 4)) * scale).astype(dtype)
    t = (rng.standard_normal((3, 4)) * scale).astype(dtype)
    _pair(make(nn)(reduction=reduction), make(tnn)(reduction=reduction), x, t, dtype, t_grad=True)


def test_regression_broadcast_warns():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(cr.randn(3, 1), cr.randn(3))
    with pytest.raises(ValueError, match="does not broadcast"):
        F.mse_loss(cr.randn(3, 2), cr.randn(4))


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 0.5)])
def test_multi_margin(dtype, reduction, p, margin):
    rng = _rng(7)
    x = rng.standard_normal((6, 4)).astype(dtype)
    t = rng.integers(0, 4, 6)
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    _pair(nn.MultiMarginLoss(p, margin, cr.tensor(w), reduction=reduction),
          tnn.MultiMarginLoss(p, margin, torch.tensor(w), reduction=reduction), x, t, dtype)


@REDUCTIONS
def test_hinge_loss_formula(reduction):
    y = np.array([2.0, 0.5, -0.3, -2.0, 1.0, 0.2])
    t = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    per = np.maximum(0.0, 1.0 - t * y)                      # [0, .5, 1.3, 0, 2, 1.2]
    yc = cr.tensor(y, requires_grad=True)
    loss = nn.HingeLoss(reduction=reduction)(yc, cr.tensor(t))
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    loss.sum().backward()
    scale = 1 / len(y) if reduction == "mean" else 1.0
    np.testing.assert_allclose(yc.grad.numpy(), np.where(t * y < 1, -t, 0.0) * scale, rtol=1e-12)
    with pytest.raises(ValueError, match="-1 or \\+1"):
        F.hinge_loss(cr.tensor(y), cr.tensor(np.zeros(6)))


def test_loss_argument_errors():
    x = cr.randn(4, 3)
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(x, cr.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="total")
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, cr.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"needs a target of shape \(4,\)"):
        F.cross_entropy(x, cr.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(cr.tensor([[1, 2]]), cr.tensor([0]))
    with pytest.raises(ValueError, match=r"weight must have one entry per class"):
        F.nll_loss(x, cr.tensor([0, 1, 2, 0]), weight=cr.ones(2))


def test_second_derivatives_through_fused_primitives():
    """The fused primitives' backward rules are written against xp, so create_graph works."""
    rng = _rng(8)
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = cr.tensor(rng.integers(0, 4, 3))
    q = cr.tensor(rng.dirichlet(np.ones(4), 3))
    pr = cr.tensor(rng.uniform(0.1, 0.9, (3, 4)), requires_grad=True)
    for f, args in [
        (lambda x: F.softmax(x, 1), [x]), (lambda x: F.log_softmax(x, 0), [x]),
        (lambda x: F.cross_entropy(x, t, label_smoothing=0.1), [x]),
        (lambda x: F.cross_entropy(x, q), [x]),
        (lambda x: F.binary_cross_entropy_with_logits(x, q, pos_weight=cr.ones(4) * 2), [x]),
        (lambda p: F.binary_cross_entropy(p, q), [pr]),
        (lambda x: F.layer_norm(x, (4,)), [x]),
        (lambda x: F.batch_norm(x, None, None, training=True), [x]),
        (lambda x: F.linear(x, x[:2] * 1.5, x[0, :2]), [x]),
    ]:
        assert gradgradcheck(f, args)
    # Hessian of the mean cross-entropy w.r.t. one row of logits: (diag(s) − s sᵀ)/N
    x1 = cr.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    (g,) = cr.autograd.grad(F.cross_entropy(x1, cr.tensor([2])), [x1], create_graph=True)
    s = np.exp(x1.numpy()[0]) / np.exp(x1.numpy()[0]).sum()
    rows = [cr.autograd.grad(g[0, i], [x1], retain_graph=True)[0].numpy()[0] for i in range(4)]
    np.testing.assert_allclose(np.array(rows), np.diag(s) - np.outer(s, s), atol=1e-12)
