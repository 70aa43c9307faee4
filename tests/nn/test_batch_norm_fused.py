"""Training-mode batch norm as one primitive (NativeBatchNorm) and the fused sigmoid, on LeNet's
shapes, against PyTorch: outputs, gradients of x, γ and β, running statistics, the optional
affine parameters, second derivatives (create_graph), and sigmoid's edges."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.nn.functional.batch_norm_train import NativeBatchNorm

RNG = np.random.default_rng(5)


def _tol(dtype):
    return dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 6, 24, 24), (128, 16, 8, 8), (128, 120), (16, 4, 7)])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_batch_norm_training_matches_torch(dtype, shape, affine):
    c = shape[1]
    x = (RNG.standard_normal(shape) * 3 + 1).astype(dtype)
    w = (RNG.standard_normal(c) + 1).astype(dtype)
    b = RNG.standard_normal(c).astype(dtype)
    up = RNG.standard_normal(shape).astype(dtype)
    use_w, use_b = affine in ("both", "weight"), affine in ("both", "bias")
    out = {}
    for name, lib, fn in (("cr", cr, F.batch_norm), ("torch", torch, TF.batch_norm)):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True) if use_w else None
        bt = lib.tensor(b, requires_grad=True) if use_b else None
        rm, rv = lib.tensor(np.zeros(c, dtype)), lib.tensor(np.ones(c, dtype))
        y = fn(xt, rm, rv, wt, bt, training=True, momentum=0.1, eps=1e-5)
        (y * lib.tensor(up)).sum().backward()
        out[name] = [y, xt.grad, rm, rv] + [p.grad for p in (wt, bt) if p is not None]
    for what, a, t in zip(["y", "dx", "running_mean", "running_var", "dw/db", "db"],
                          out["cr"], out["torch"]):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), err_msg=what,
                                   **_tol(dtype))
    if shape[0] == 64:
        assert type(out["cr"][0].grad_fn) is NativeBatchNorm
        assert out["cr"][0].grad_fn.name() == "NativeBatchNormBackward0"


def test_batch_norm_layers_train_like_torch():
    """BatchNorm2d and BatchNorm1d in a few SGD steps (running statistics included)."""
    for cls, tcls, shape in ((cr.nn.BatchNorm2d, torch.nn.BatchNorm2d, (32, 6, 12, 12)),
                             (cr.nn.BatchNorm1d, torch.nn.BatchNorm1d, (64, 120))):
        m, t = cls(shape[1]), tcls(shape[1])
        oc = cr.optim.SGD(m.parameters(), lr=0.5)
        ot = torch.optim.SGD(t.parameters(), lr=0.5)
        for step in range(3):
            x = (RNG.standard_normal(shape) + step).astype(np.float32)
            for mod, opt, lib in ((m, oc, cr), (t, ot, torch)):
                opt.zero_grad()
                (mod(lib.tensor(x)) ** 3).mean().backward()
                opt.step()
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=2e-5,
                                       atol=2e-6, err_msg=f"{cls.__name__} {k}")


def test_batch_norm_double_backward_matches_torch():
    """create_graph: ∂/∂(x, γ) of ‖∂L/∂x‖² + ‖∂L/∂γ‖² agree with PyTorch's (float64)."""
    x = RNG.standard_normal((6, 3, 2, 2))
    w, b = RNG.standard_normal(3) + 1, RNG.standard_normal(3)
    up = RNG.standard_normal(x.shape)
    res = {}
    for name, lib, fn in (("cr", cr, F.batch_norm), ("torch", torch, TF.batch_norm)):
        xs = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = fn(xs[0], None, None, xs[1], xs[2], training=True)
        gx, gw = (cr.autograd.grad if lib is cr else torch.autograd.grad)(
            (y * lib.tensor(up)).sum(), xs[:2], create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        res[name] = [a.grad.detach().numpy() for a in xs[:2]]     # β: no second derivative
        assert xs[2].grad is None
    for a, t in zip(res["cr"], res["torch"]):
        np.testing.assert_allclose(a, t, rtol=1e-8, atol=1e-10)


def test_batch_norm_gradgradcheck():
    x = cr.tensor(RNG.standard_normal((5, 2, 3)), requires_grad=True)
    w = cr.tensor(RNG.standard_normal(2) + 1, requires_grad=True)
    b = cr.tensor(RNG.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True) ** 2
    assert cr.autograd.gradcheck(fn, (x, w, b))
    assert cr.autograd.gradgradcheck(fn, (x, w, b))


def test_batch_norm_saved_output_guarded_against_in_place_change():
    x = cr.tensor(RNG.standard_normal((8, 3)).astype(np.float32), requires_grad=True)
    y = F.batch_norm(x, None, None, None, None, training=True)
    y.mul_(2)              # y is not what backward reads (x̂ is its own array): still correct
    y.sum().backward()
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    torch.nn.functional.batch_norm(xt, None, None, None, None, training=True).mul(2).sum() \
        .backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), atol=1e-5)


def _ulps(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_sigmoid_matches_torch_within_a_few_ulps():
    x = np.concatenate([np.linspace(-110, 110, 200_001, dtype=np.float32),
                        (RNG.standard_normal(100_000) * 4).astype(np.float32)])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = cr.sigmoid(xc), torch.sigmoid(xt)
    assert _ulps(y.detach().numpy(), yt.detach().numpy()).max() <= 4
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    normal = exact > np.finfo(np.float32).tiny        # away from the subnormal range
    assert _ulps(y.detach().numpy()[normal], exact[normal]).max() <= 6
    up = RNG.standard_normal(x.shape).astype(np.float32)
    (y * cr.tensor(up)).sum().backward()
    (yt * torch.tensor(up)).sum().backward()
    # g·(1 − z)·z: a one-ulp difference in z moves 1 − z by ulp(z) where z is near 1
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-6,
                               atol=1.2e-7 * np.abs(up).max())


def test_sigmoid_edges_and_no_warnings():
    x = np.array([-np.inf, -1e30, -104, -89, -88.5, -20, -0.0, 0, 20, 89, 1e30, np.inf, np.nan],
                 np.float32)
    with np.errstate(over="raise", under="raise", divide="raise", invalid="raise"):
        # e^(−x) over- and underflows by design: no warning, no error
        y = cr.sigmoid(cr.tensor(x)).numpy()
    yt = torch.sigmoid(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(yt))
    assert _ulps(y[:-1], yt[:-1]).max() <= 2                  # 0 and 1 exactly where torch has them
    assert cr.sigmoid(cr.tensor(0.25)).shape == ()
    assert cr.sigmoid(cr.tensor([1, 2])).dtype == cr.float32      # integers promote
    xt = x[::2]                                                       # a strided input
    np.testing.assert_array_equal(cr.sigmoid(cr.tensor(x)[::2]).numpy(),
                                  torch.sigmoid(torch.tensor(xt)).numpy())


def test_sigmoid_double_backward_matches_torch():
    x = RNG.standard_normal(7)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = cr.autograd.grad(cr.sigmoid(xc).sum(), (xc,), create_graph=True)
    (gt,) = torch.autograd.grad(torch.sigmoid(xt).sum(), (xt,), create_graph=True)
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
