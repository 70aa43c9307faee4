"""Every optimizer retraces torch.optim on a small MLP: 200 steps, max |Δθ| <= 1e-6 in float64."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .configs import CONFIGS, IDS, MAXIMIZE
from . import mlp

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_float64():
    """torch keeps optimizer scalars (step, NAdam's mu_product) in its default dtype."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _pair(name, kwargs, weight_decay, dtype=np.float64):
    kwargs = dict(kwargs, weight_decay=weight_decay)
    w = mlp.initial_weights(dtype)
    ps, tps = mlp.cr_params(w), mlp.torch_params(w)
    opt = getattr(optim, name)(ps, **kwargs)
    topt = getattr(torch.optim, name)(tps, foreach=False, **kwargs)
    return ps, opt, tps, topt


@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["no_wd", "wd"])
@pytest.mark.parametrize("cid,name,kwargs", CONFIGS, ids=IDS)
def test_200_steps_match_torch(cid, name, kwargs, weight_decay, torch_float64):
    data = mlp.dataset()
    ps, opt, tps, topt = _pair(name, kwargs, weight_decay)
    start = [p.numpy().copy() for p in ps]
    mlp.cr_train(opt, ps, data, 0, 200)
    mlp.torch_train(topt, tps, data, 0, 200)
    assert mlp.max_diff(ps, tps) <= 1e-6
    # the run really moved the weights (a no-op optimizer would fail the comparison, not pass it)
    assert max(np.max(np.abs(p.numpy() - s)) for p, s in zip(ps, start)) > 1e-2


@pytest.mark.parametrize("cid,name,kwargs", MAXIMIZE, ids=[c[0] for c in MAXIMIZE])
def test_maximize_matches_torch_and_minimizing(cid, name, kwargs, torch_float64):
    data = mlp.dataset()
    ps, opt, tps, topt = _pair(name, dict(kwargs, maximize=True), 0.05)
    mlp.cr_train(opt, ps, data, 0, 100, negate=True)
    mlp.torch_train(topt, tps, data, 0, 100, negate=True)
    assert mlp.max_diff(ps, tps) <= 1e-6
    # ascending −L is descending L, bit for bit
    qs, opt2, _, _ = _pair(name, kwargs, 0.05)
    mlp.cr_train(opt2, qs, data, 0, 100)
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("cid,name,kwargs", CONFIGS, ids=IDS)
def test_float32_matches_torch_and_stays_float32(cid, name, kwargs):
    data = mlp.dataset(np.float32)
    ps, opt, tps, topt = _pair(name, kwargs, 0.01, np.float32)
    mlp.cr_train(opt, ps, data, 0, 30)
    mlp.torch_train(topt, tps, data, 0, 30)
    assert mlp.max_diff(ps, tps) <= 2e-5
    for p in ps:
        assert p.dtype == np.float32
        for key, value in opt.state[p].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, (key, value.dtype)
            else:
                assert isinstance(value, (int, float)), (key, type(value))


def test_param_groups_with_their_own_hyperparameters(torch_float64):
    data = mlp.dataset()
    w = mlp.initial_weights()
    ps, tps = mlp.cr_params(w), mlp.torch_params(w)

    def groups(params):
        return [{"params": [params[0], params[2]]},
                {"params": [params[1], params[3]], "lr": 0.003, "weight_decay": 0.0,
                 "betas": (0.5, 0.9)}]

    opt = optim.Adam(groups(ps), lr=0.01, weight_decay=0.1)
    topt = torch.optim.Adam(groups(tps), lr=0.01, weight_decay=0.1, foreach=False)
    assert opt.param_groups[1]["eps"] == 1e-8 and opt.param_groups[1]["lr"] == 0.003
    mlp.cr_train(opt, ps, data, 0, 200)
    mlp.torch_train(topt, tps, data, 0, 200)
    assert mlp.max_diff(ps, tps) <= 1e-6


def test_add_param_group_mid_run_matches_torch(torch_float64):
    data = mlp.dataset()
    w = mlp.initial_weights()
    ps, tps = mlp.cr_params(w), mlp.torch_params(w)
    opt = optim.SGD(ps[:2], lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tps[:2], lr=0.05, momentum=0.9, foreach=False)
    mlp.cr_train(opt, ps, data, 0, 50)
    mlp.torch_train(topt, tps, data, 0, 50)
    opt.add_param_group({"params": ps[2:], "lr": 0.02})
    topt.add_param_group({"params": tps[2:], "lr": 0.02})
    assert opt.param_groups[1]["momentum"] == 0.9
    mlp.cr_train(opt, ps, data, 50, 150)
    mlp.torch_train(topt, tps, data, 50, 150)
    assert mlp.max_diff(ps, tps) <= 1e-6
