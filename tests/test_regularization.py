"""L1/L2 penalties: gradients, parameter selection, and penalty versus (decoupled) weight decay."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck
from chainrule.optim import SGD, Adam, AdamW
from chainrule.regularization import (l1_penalty, l2_penalty, select_parameters,
                                      weight_decay_groups)

LAM = 0.05


def _model(seed: int = 0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3)).double()


def _data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 4))
    return cr.tensor(x), cr.tensor(np.sin(x[:, :3]))


def _train(model, opt, steps=60, penalty=None, decay=None):
    """``penalty(model)`` is added to the loss; ``decay`` is a manual decoupled decay
    θ ← (1 − decay)·θ before each step."""
    x, t = _data()
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), t)
        if penalty is not None:
            loss = loss + penalty(model)
        loss.backward()
        if decay is not None:
            for p in model.parameters():
                p.data *= 1 - decay
        opt.step()
    return np.concatenate([p.numpy().ravel() for p in model.parameters()])


def _start():
    return np.concatenate([p.numpy().ravel() for p in _model().parameters()])


# -- SGD: the L2 penalty (λ/2)·‖θ‖² and weight_decay=λ are the same trajectory ------------------
def test_sgd_l2_penalty_equals_weight_decay_and_decoupled_decay():
    lr = 0.1
    m = _model()
    wd = _train(m, SGD(m.parameters(), lr=lr, weight_decay=LAM))
    m = _model()
    pen = _train(m, SGD(m.parameters(), lr=lr), penalty=lambda mod: l2_penalty(mod, LAM / 2))
    m = _model()
    dec = _train(m, SGD(m.parameters(), lr=lr), decay=lr * LAM)   # θ ← (1 − ηλ)θ − η∇L
    m = _model()
    plain = _train(m, SGD(m.parameters(), lr=lr))
    np.testing.assert_allclose(pen, wd, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dec, wd, rtol=1e-10, atol=1e-12)
    # the regularisation really acted (so the equalities above are not vacuous) ...
    assert np.abs(wd - plain).max() > 1e-2
    # ... and the factor matters: λ instead of λ/2 in the penalty is a different trajectory
    m = _model()
    double = _train(m, SGD(m.parameters(), lr=lr), penalty=lambda mod: l2_penalty(mod, LAM))
    assert np.abs(double - wd).max() > 1e-2


def test_sgd_momentum_l2_penalty_equals_weight_decay():
    m = _model()
    wd = _train(m, SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=LAM))
    m = _model()
    pen = _train(m, SGD(m.parameters(), lr=0.05, momentum=0.9),
                 penalty=lambda mod: l2_penalty(mod, LAM / 2))
    np.testing.assert_allclose(pen, wd, rtol=1e-10, atol=1e-12)


# -- Adam: the penalty is rescaled by 1/√v̂, decoupled decay (AdamW) is not -------------------
def test_adam_l2_penalty_differs_from_decoupled_weight_decay():
    lr = 0.01
    m = _model()
    pen = _train(m, Adam(m.parameters(), lr=lr), penalty=lambda mod: l2_penalty(mod, LAM / 2))
    m = _model()
    coupled = _train(m, Adam(m.parameters(), lr=lr, weight_decay=LAM))
    m = _model()
    adamw = _train(m, AdamW(m.parameters(), lr=lr, weight_decay=LAM))
    m = _model()
    manual = _train(m, Adam(m.parameters(), lr=lr), decay=lr * LAM)  # decoupled, by hand
    m = _model()
    plain = _train(m, Adam(m.parameters(), lr=lr))
    # PyTorch's Adam(weight_decay) *is* the coupled L2 penalty
    np.testing.assert_allclose(pen, coupled, rtol=1e-9, atol=1e-11)
    # AdamW is decoupled decay θ ← (1 − ηλ)θ followed by the Adam step
    np.testing.assert_allclose(adamw, manual, rtol=1e-9, atol=1e-11)
    # and the two are not the same thing under Adam (they were under SGD above): the gap between
    # them is of the same order as the effect of regularising at all
    effect = np.abs(pen - plain).max()
    assert effect > 0.1
    assert np.abs(adamw - pen).max() > 0.5 * effect   # measured 0.78 vs 0.81
    assert np.abs(adamw - plain).max() > 1e-4


def test_adam_penalty_strength_is_normalised_away_but_adamw_decay_is_not():
    """Why AdamW exists, in one weight: a weight the data loss ignores feels only the
    regulariser. Adam divides the penalty's gradient 2λθ by its own RMS, so the weight moves about
    lr per step whatever λ is; AdamW shrinks it by the factor (1 − ηλ) per step, in proportion
    to λ."""
    lr, steps = 1e-3, 50

    def run(opt_cls, lam, penalty):
        w = cr.tensor(np.array([1.0]), requires_grad=True)
        kw = {} if penalty else {"weight_decay": lam}
        opt = opt_cls([w], lr=lr, **kw)
        for _ in range(steps):
            opt.zero_grad()
            loss = l2_penalty([w], lam / 2) if penalty else (w * 0).sum()
            loss.backward()
            opt.step()
        return 1.0 - w.item()

    small, large = run(Adam, 1e-3, True), run(Adam, 1e-1, True)
    assert small == pytest.approx(steps * lr, rel=1e-2)     # about lr per step ...
    assert large == pytest.approx(small, rel=1e-2)     # ... for λ 100× larger too
    small_w, large_w = run(AdamW, 1e-3, False), run(AdamW, 1e-1, False)
    assert small_w == pytest.approx(1 - (1 - lr * 1e-3) ** steps, rel=1e-9)
    assert large_w == pytest.approx(100 * small_w, rel=1e-2)  # proportional to λ


# -- the penalties themselves --------------------------------------------------------------------
def test_penalty_values_and_gradcheck():
    rng = np.random.default_rng(2)
    w = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(3) + np.sign(rng.standard_normal(3)), requires_grad=True)
    l2 = l2_penalty([w, b], 0.3)
    l1 = l1_penalty([w, b], 0.3)
    assert l2.item() == pytest.approx(0.3 * ((w.numpy() ** 2).sum() + (b.numpy() ** 2).sum()))
    assert l1.item() == pytest.approx(0.3 * (np.abs(w.numpy()).sum() + np.abs(b.numpy()).sum()))
    assert gradcheck(lambda w, b: l2_penalty([w, b], 0.3), [w, b])
    assert gradcheck(lambda w, b: l1_penalty([w, b], 0.3), [w, b])  # no entry is near 0
    l2.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.6 * w.numpy())
    w.grad = None
    l1.backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.3 * np.sign(w.numpy()))


def test_per_group_lambda_and_dtype():
    w = cr.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    b = cr.tensor(np.full(2, 2.0, np.float32), requires_grad=True)
    groups = [{"params": [w], "l2": 0.1, "l1": 0.0}, {"params": [b]}]
    assert l2_penalty(groups, 0.5).item() == pytest.approx(0.1 * 4 + 0.5 * 8)
    assert l1_penalty(groups, 0.5).item() == pytest.approx(0.5 * 4)   # w's group has l1 = 0
    assert l2_penalty(groups, 0.5).dtype == np.float32
    assert l2_penalty([], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="l2_penalty: lam"):
        l2_penalty([w], -1.0)
    with pytest.raises(TypeError, match="l1_penalty"):
        l1_penalty([w, "b"], 1.0)


def test_exclude_bias_and_norm():
    model = _model()
    names = [n for n, _ in select_parameters(model, exclude_bias_and_norm=True)]
    assert names == ["0.weight", "3.weight"]           # LayerNorm's weight and all biases out
    assert len(select_parameters(model)) == 6
    pen = l2_penalty(model, LAM, exclude_bias_and_norm=True)
    expected = LAM * sum((model[i].weight.numpy() ** 2).sum() for i in (0, 3))
    assert pen.item() == pytest.approx(expected, rel=1e-12)
    pen.backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * LAM * model[0].weight.numpy())
    assert model[0].bias.grad is None and model[3].bias.grad is None
    assert model[1].weight.grad is None and model[1].bias.grad is None
    full = l2_penalty(model, LAM)
    assert full.item() > pen.item() + LAM * 7.9        # LayerNorm's weight (ones) alone adds 8λ

    # a 2-D parameter whose name ends in "bias", and a norm layer's parameters by class name
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_bias = nn.Parameter(cr.ones(2, 2))
            self.kernel = nn.Parameter(cr.ones(2, 2))

    class GroupNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(cr.ones(2, 2))

    holder = nn.Sequential(Odd(), GroupNorm())
    assert [n for n, _ in select_parameters(holder, True)] == ["0.kernel"]


def test_exclude_bias_and_norm_leaves_out_every_1d_parameter_as_documented():
    # The docstring's rule has three parts: at most one dimension, a name ending in "bias",
    # a normalisation layer. A PReLU slope is neither a bias nor a norm weight, but it is 1-D,
    # so it is left out (as is a 0-d scale); 2-D weights stay whatever module holds them.
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(cr.tensor(2.0))        # 0-d
            self.mix = nn.Parameter(cr.ones(3, 3))          # 2-D, not a bias: penalised

        def forward(self, x):
            return self.gain * (x @ self.mix)

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.PReLU(3), Scaled(), nn.PReLU(), nn.Linear(3, 2))
    assert model[1].weight.shape == (3,) and model[3].weight.shape == (1,)
    kept = [n for n, _ in select_parameters(model, exclude_bias_and_norm=True)]
    assert kept == ["0.weight", "2.mix", "4.weight"]
    assert [n for n, _ in select_parameters(model)] == [
        "0.weight", "0.bias", "1.weight", "2.gain", "2.mix", "3.weight", "4.weight", "4.bias"]
    pen = l2_penalty(model, LAM, exclude_bias_and_norm=True)
    want = LAM * sum(float((p.numpy().astype(np.float64) ** 2).sum())
                     for p in (model[0].weight, model[2].mix, model[4].weight))
    assert pen.item() == pytest.approx(want, rel=1e-6)
    pen.backward()
    assert model[1].weight.grad is None and model[3].weight.grad is None
    assert model[2].gain.grad is None
    np.testing.assert_allclose(model[2].mix.grad.numpy(), 2 * LAM * model[2].mix.numpy(),
                               rtol=1e-6)
    decay, no_decay = weight_decay_groups(model, 0.1)
    assert {id(p) for p in decay["params"]} == {id(model[0].weight), id(model[2].mix),
                                                id(model[4].weight)}
    assert any(p is model[1].weight for p in no_decay["params"])
    # and a parameter list with names behaves as the module does
    named = list(model.named_parameters())
    assert [n for n, _ in select_parameters(named, True)] == kept


def test_weight_decay_groups_for_adamw():
    model = _model()
    groups = weight_decay_groups(model, 0.01)
    assert [len(g["params"]) for g in groups] == [2, 4]
    assert groups[0]["params"][0] is model[0].weight
    opt = AdamW(groups, lr=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    before = model[1].weight.numpy().copy()
    x, t = _data()
    nn.functional.mse_loss(model(x), t).backward()
    for p in model.parameters():
        p.grad.numpy()[...] = 0          # zero gradients: only decay could move anything
    opt.step()
    np.testing.assert_array_equal(model[1].weight.numpy(), before)   # not decayed
    assert not np.array_equal(model[0].weight.numpy(), _model()[0].weight.numpy())
