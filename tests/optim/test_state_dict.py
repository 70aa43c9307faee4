"""state_dict / load_state_dict: PyTorch's layout, plain values only, and exact resumption."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .configs import CONFIGS, IDS
from . import mlp
from .roundtrip import without_pickle

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["no_wd", "wd"])
@pytest.mark.parametrize("cid,name,kwargs", CONFIGS, ids=IDS)
def test_resume_from_step_100_in_a_fresh_optimizer(cid, name, kwargs, weight_decay):
    data = mlp.dataset()
    kwargs = dict(kwargs, weight_decay=weight_decay)
    ps = mlp.cr_params(mlp.initial_weights())
    opt = getattr(optim, name)(ps, **kwargs)
    mlp.cr_train(opt, ps, data, 0, 100)
    saved = without_pickle(opt.state_dict())

    # fresh tensors with the same values, and an optimizer built with a different lr:
    # the loaded hyperparameters must win
    qs = mlp.cr_params([p.numpy() for p in ps])
    fresh = getattr(optim, name)(qs, **dict(kwargs, lr=123.0))
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs.get("lr", opt.defaults["lr"])
    assert fresh.param_groups[0]["params"][0] is qs[0]

    mlp.cr_train(opt, ps, data, 100, 100)
    mlp.cr_train(fresh, qs, data, 100, 100)
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert opt.state_dict()["state"].keys() == fresh.state_dict()["state"].keys()


@pytest.mark.parametrize("cid,name,kwargs", CONFIGS, ids=IDS)
def test_layout_matches_torch_and_loads_both_ways(cid, name, kwargs):
    """Same state names and index layout as torch.optim; a torch state_dict loaded into chainrule
    (and the reverse) continues the run as the other library would."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        data = mlp.dataset()
        kwargs = dict(kwargs, weight_decay=0.05)
        w = mlp.initial_weights()
        ps, tps = mlp.cr_params(w), mlp.torch_params(w)
        opt = getattr(optim, name)(ps, foreach=False, **kwargs)
        topt = getattr(torch.optim, name)(tps, foreach=False, **kwargs)
        mlp.cr_train(opt, ps, data, 0, 60)
        mlp.torch_train(topt, tps, data, 0, 60)
        sd, tsd = opt.state_dict(), topt.state_dict()
        assert sd["state"].keys() == tsd["state"].keys()
        for i in sd["state"]:
            assert sd["state"][i].keys() == tsd["state"][i].keys()
        assert [g["params"] for g in sd["param_groups"]] == \
            [g["params"] for g in tsd["param_groups"]]
        for key, value in sd["param_groups"][0].items():
            assert tsd["param_groups"][0][key] == value, key

        # torch -> chainrule: fresh chainrule tensors holding torch's weights
        as_numpy = {"state": {i: {k: v.detach().numpy().copy() for k, v in s.items()}
                              for i, s in tsd["state"].items()},
                    "param_groups": tsd["param_groups"]}
        qs = mlp.cr_params([t.detach().numpy() for t in tps])
        from_torch = getattr(optim, name)(qs, **kwargs)
        from_torch.load_state_dict(as_numpy)
        # chainrule -> torch: fresh torch tensors holding chainrule's weights
        tqs = mlp.torch_params([p.numpy() for p in ps])
        to_torch = getattr(torch.optim, name)(tqs, foreach=False, **kwargs)
        to_torch.load_state_dict(
            {"state": {i: {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                           for k, v in s.items()} for i, s in sd["state"].items()},
             "param_groups": sd["param_groups"]})

        mlp.cr_train(from_torch, qs, data, 60, 60)
        mlp.torch_train(topt, tps, data, 60, 60)
        assert mlp.max_diff(qs, tps) <= 1e-6
        mlp.torch_train(to_torch, tqs, data, 60, 60)
        mlp.cr_train(opt, ps, data, 60, 60)
        assert mlp.max_diff(ps, tqs) <= 1e-6
    finally:
        torch.set_default_dtype(old)


def test_state_dict_is_a_snapshot_and_load_copies():
    ps = mlp.cr_params(mlp.initial_weights())
    opt = optim.Adam(ps, lr=0.01)
    mlp.cr_train(opt, ps, mlp.dataset(), 0, 5)
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].copy()
    mlp.cr_train(opt, ps, mlp.dataset(), 5, 5)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)
    assert sd["state"][0]["step"] == 5 and isinstance(sd["state"][0]["step"], int)

    qs = mlp.cr_params([p.numpy() for p in ps])
    other = optim.Adam(qs, lr=0.01)
    other.load_state_dict(sd)
    sd["state"][0]["exp_avg"][...] = 7.0
    assert not np.any(other.state[qs[0]]["exp_avg"] == 7.0)


def test_load_casts_state_to_the_parameter_dtype():
    ps = mlp.cr_params(mlp.initial_weights(np.float64))
    opt = optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True)
    mlp.cr_train(opt, ps, mlp.dataset(), 0, 3)
    qs = mlp.cr_params(mlp.initial_weights(np.float32))
    other = optim.RMSprop(qs, lr=0.01)
    other.load_state_dict(opt.state_dict())
    for q in qs:
        for value in other.state[q].values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    assert other.param_groups[0]["centered"] is True
    mlp.cr_train(other, qs, mlp.dataset(np.float32), 3, 3)
    assert all(q.dtype == np.float32 for q in qs)


def test_load_state_dict_rejects_a_mismatched_layout():
    a, b = cr.zeros(3, requires_grad=True), cr.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="has 2 parameters in the loaded state dict but 1"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a], lr=0.1).load_state_dict({"params": []})


def test_load_rejects_invalid_hyperparameters_in_a_checkpoint():
    a = cr.zeros(3, requires_grad=True)
    sd = optim.SGD([a], lr=0.1).state_dict()
    sd["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr: -1.0"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


def test_checkpoint_file_round_trip_via_chainrule_save(tmp_path):
    """The optimizer state survives chainrule.save / chainrule.load (safetensors + JSON)."""
    pytest.importorskip("safetensors")
    data = mlp.dataset()
    ps = mlp.cr_params(mlp.initial_weights())
    opt = optim.NAdam(ps, lr=0.01, weight_decay=0.01)
    mlp.cr_train(opt, ps, data, 0, 20)
    cr.save({"optimizer": opt.state_dict()}, tmp_path / "ckpt.safetensors")
    loaded = cr.load(tmp_path / "ckpt.safetensors")["optimizer"]
    qs = mlp.cr_params([p.numpy() for p in ps])
    fresh = optim.NAdam(qs)
    fresh.load_state_dict(loaded)
    assert isinstance(fresh.state[qs[0]]["mu_product"], float)
    mlp.cr_train(opt, ps, data, 20, 20)
    mlp.cr_train(fresh, qs, data, 20, 20)
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
