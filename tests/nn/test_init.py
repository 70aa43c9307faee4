"""nn.init: gains equal PyTorch's, the draws' statistics and bounds match the formulas, the
default Linear/Conv scheme is PyTorch's, and everything is reproducible from manual_seed."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init


@pytest.mark.parametrize("name, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_fans():
    assert init.calculate_fan_in_and_fan_out(cr.zeros(8, 3, 5, 5)) == (75, 200)
    assert init.calculate_fan_in_and_fan_out(cr.zeros(4, 6)) == (6, 4)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(cr.zeros(4))


SHAPE = (300, 200)                # fan_in 200, fan_out 300; 60,000 draws


def _std_ok(t, std, rel=0.02):
    assert float(t.numpy().std()) == pytest.approx(std, rel=rel)
    assert abs(float(t.numpy().mean())) < 4 * std / math.sqrt(t.numel())


@pytest.mark.parametrize("fn, kwargs, std, bound", [
    (init.uniform_, dict(a=-0.5, b=0.5), 1 / math.sqrt(12), 0.5),
    (init.normal_, dict(std=0.3), 0.3, None),
    (init.xavier_uniform_, dict(gain=2.0), 2 * math.sqrt(2 / 500), 2 * math.sqrt(6 / 500)),
    (init.xavier_normal_, {}, math.sqrt(2 / 500), None),
    (init.kaiming_uniform_, dict(nonlinearity="relu"), math.sqrt(2 / 200), math.sqrt(6 / 200)),
    (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300),
     math.sqrt(6 / 300)),
    (init.kaiming_normal_, dict(a=0.1), math.sqrt(2 / 1.01 / 200), None),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="tanh"), 5 / 3 / math.sqrt(300),
     None),
], ids=["uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform_in",
        "kaiming_uniform_out", "kaiming_normal_leaky", "kaiming_normal_out_tanh"])
def test_statistics_match_formulas(fn, kwargs, std, bound):
    t = cr.zeros(*SHAPE)
    assert fn(t, **kwargs) is t
    _std_ok(t, std)
    if bound is not None:
        assert np.abs(t.numpy()).max() <= bound
        assert np.abs(t.numpy()).max() > 0.99 * bound         # the whole interval is used
    assert t.dtype == np.float32


def test_constant_fills_eye_and_orthogonal():
    t = cr.zeros(3, 4, requires_grad=True)                # in place, outside autograd
    init.constant_(t, 0.7)
    assert np.all(t.numpy() == np.float32(0.7))
    init.ones_(t)
    init.zeros_(t)
    assert np.all(t.numpy() == 0)
    init.eye_(t)
    np.testing.assert_array_equal(t.numpy(), np.eye(3, 4))
    for shape in [(5, 8), (8, 5), (4, 2, 3)]:
        w = cr.zeros(*shape, dtype=cr.float64)
        init.orthogonal_(w, gain=1.5)
        m = w.numpy().reshape(shape[0], -1)
        small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(small, 2.25 * np.eye(min(m.shape)), atol=1e-12)


def test_default_layer_initialisation_is_pytorchs():
    cr.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)                            # kaiming_uniform_(a=√5) = U(±1/√fan_in)
    for p in (lin.weight, lin.bias):
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.98 * bound
    _std_ok(lin.weight, bound / math.sqrt(3))
    conv = nn.Conv2d(6, 8, 3, groups=2)                   # fan_in = 6/2 · 3 · 3 = 27
    b = 1 / math.sqrt(27)
    assert np.abs(conv.weight.numpy()).max() <= b and np.abs(conv.bias.numpy()).max() <= b
    bn, emb = nn.BatchNorm1d(3), nn.Embedding(1000, 50)
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)
    _std_ok(emb.weight, 1.0)


def test_reproducible_from_manual_seed():
    cr.manual_seed(7)
    a = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).state_dict()
    cr.manual_seed(7)
    b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    c = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).state_dict()
    assert not np.array_equal(a["0.weight"].numpy(), c["0.weight"].numpy())
    g = np.random.default_rng(3)
    w1 = init.normal_(cr.zeros(5), generator=g).numpy().copy()
    w2 = init.normal_(cr.zeros(5), generator=np.random.default_rng(3)).numpy()
    np.testing.assert_array_equal(w1, w2)


def test_init_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_normal_(cr.zeros(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(cr.zeros(3))
