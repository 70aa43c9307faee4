"""Pruning (chainrule.nn.utils.prune) against
torch.nn.utils.prune: masks, composition, training with masks, state_dict, remove."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import prune
from chainrule.optim import SGD, Adam

torch = pytest.importorskip("torch")
from torch.nn.utils import prune as tprune  # noqa: E402


def _pair(seed: int = 0):
    """The same two-layer MLP in chainrule and PyTorch (float64, weights copied)."""
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 3)).double()
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return model, tmodel


def _mask(module, name="weight"):
    return module._buffers[name + "_mask"].numpy()


def test_l1_unstructured_matches_torch_including_repeated_pruning():
    model, tmodel = _pair()
    # weights are continuous random draws: no ties in |w|
    for amount in (0.3, 7, 0.5, 0):       # fraction, count, fraction of the remaining, nothing
        prune.l1_unstructured(model[0], "weight", amount)
        tprune.l1_unstructured(tmodel[0], "weight", amount)
        np.testing.assert_array_equal(_mask(model[0]), tmodel[0].weight_mask.numpy())
    # 30 → prune 9 → 21 left, prune 7 → 14, prune round(0.5·14) = 7 → 7 left
    assert _mask(model[0]).sum() == 7
    assert isinstance(model[0]._forward_pre_hooks[next(iter(model[0]._forward_pre_hooks))],
                      prune.PruningContainer)
    x = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_amount_is_a_fraction_of_the_remaining_entries_with_pythons_rounding():
    m = nn.Linear(10, 1)                       # 10 weights
    prune.random_unstructured(m, "weight", 0.5)
    assert _mask(m).sum() == 5
    prune.random_unstructured(m, "weight", 0.5)   # round(2.5) = 2 (banker's rounding, as torch)
    assert _mask(m).sum() == 3
    t = torch.nn.Linear(10, 1)
    tprune.random_unstructured(t, "weight", 0.5)
    tprune.random_unstructured(t, "weight", 0.5)
    assert t.weight_mask.sum().item() == 3
    # random pruning never revives a pruned entry, and only prunes within what is left
    before = _mask(m).copy()
    prune.random_unstructured(m, "weight", 1)
    after = _mask(m)
    assert after.sum() == 2 and np.all(after <= before)


def test_random_unstructured_is_seeded():
    masks = []
    for _ in range(2):
        cr.manual_seed(5)
        m = nn.Linear(8, 8)
        cr.manual_seed(7)
        prune.random_unstructured(m, "weight", 0.25)
        masks.append(_mask(m).copy())
    np.testing.assert_array_equal(*masks)
    assert masks[0].sum() == 48


def test_global_unstructured_matches_torch():
    model, tmodel = _pair(1)
    prune.l1_unstructured(model[2], "weight", 3)          # one layer already pruned
    tprune.l1_unstructured(tmodel[2], "weight", 3)
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    tprune.global_unstructured([(tmodel[0], "weight"), (tmodel[2], "weight")],
                               pruning_method=tprune.L1Unstructured, amount=0.4)
    for i in (0, 2):
        np.testing.assert_array_equal(_mask(model[i]), tmodel[i].weight_mask.numpy())
    # 45 weights, 3 pruned, then round(0.4 · 42) = 17 more across both layers
    assert _mask(model[0]).sum() + _mask(model[2]).sum() == 45 - 3 - 17
    # the choice really is global: the layers lose different fractions
    assert _mask(model[0]).mean() != pytest.approx(_mask(model[2]).mean())
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight")],
                              pruning_method=prune.L1Unstructured, amount=5)
    tprune.global_unstructured([(tmodel[0], "weight"), (tmodel[2], "weight")],
                               pruning_method=tprune.L1Unstructured, amount=5)
    for i in (0, 2):
        np.testing.assert_array_equal(_mask(model[i]), tmodel[i].weight_mask.numpy())


@pytest.mark.parametrize("make_opt", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
], ids=["sgd_momentum_wd", "adam_wd"])
def test_pruned_weights_stay_exactly_zero_through_training(make_opt):
    model, _ = _pair(2)
    opt = make_opt(model.parameters())          # built before pruning: holds the same objects
    prune.l1_unstructured(model[0], "weight", 0.5)
    pruned = _mask(model[0]) == 0
    start = model[0].weight_orig.numpy().copy()
    rng = np.random.default_rng(3)
    x, t = cr.tensor(rng.standard_normal((16, 6))), cr.tensor(rng.standard_normal((16, 3)))
    for _ in range(25):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), t).backward()
        assert np.all(model[0].weight_orig.grad.numpy()[pruned] == 0)
        opt.step()
        model(x)                                   # the pre-hook recomputes the weight
        assert np.all(model[0].weight.numpy()[pruned] == 0)
    # training did move the surviving weights
    assert np.abs(model[0].weight_orig.numpy()[~pruned] - start[~pruned]).max() > 1e-3


def test_pruned_state_dict_round_trips_and_loads_into_torch():
    model, tmodel = _pair(3)
    prune.l1_unstructured(model[0], "weight", 0.4)
    prune.random_unstructured(model[2], "weight", 0.3)
    sd = model.state_dict()
    tprune.identity(tmodel[0], "weight")
    tprune.identity(tmodel[2], "weight")
    assert list(sd.keys()) == list(tmodel.state_dict().keys()) == [
        "0.bias", "0.weight_orig", "0.weight_mask", "2.bias", "2.weight_orig", "2.weight_mask"]
    x = np.random.default_rng(4).standard_normal((5, 6))
    out = model(cr.tensor(x)).numpy()

    # into a fresh chainrule model pruned differently: the loaded mask wins
    fresh, _ = _pair(9)
    prune.identity(fresh[0], "weight")
    prune.identity(fresh[2], "weight")
    fresh.load_state_dict(sd)
    np.testing.assert_array_equal(fresh(cr.tensor(x)).numpy(), out)
    np.testing.assert_array_equal(_mask(fresh[0]), _mask(model[0]))

    # into PyTorch, and back
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in sd.items()})
    np.testing.assert_allclose(tmodel(torch.tensor(x)).detach().numpy(), out, rtol=1e-12)
    back, _ = _pair(8)
    prune.identity(back[0], "weight")
    prune.identity(back[2], "weight")
    back.load_state_dict(tmodel.state_dict())
    np.testing.assert_allclose(back(cr.tensor(x)).numpy(), out, rtol=1e-12)

    # a checkpoint on disk (safetensors) keeps the keys
    pytest.importorskip("safetensors")
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "pruned.safetensors")
        cr.save(sd, path)
        loaded = cr.load(path)
    assert set(loaded) == set(sd)


def test_remove_leaves_a_plain_weight():
    model, tmodel = _pair(4)
    prune.l1_unstructured(model[0], "weight", 0.5)
    orig = model[0].weight_orig
    x = cr.tensor(np.random.default_rng(5).standard_normal((3, 6)))
    out = model(x).numpy()
    assert prune.is_pruned(model) and prune.is_pruned(model[0]) and not prune.is_pruned(model[2])
    prune.remove(model[0], "weight")
    m = model[0]
    assert isinstance(m.weight, nn.Parameter) and m.weight is orig   # same object, masked values
    assert "weight_orig" not in m._parameters and "weight_mask" not in m._buffers
    assert not m._forward_pre_hooks and not prune.is_pruned(model)
    assert (m.weight.numpy() == 0).sum() == 15
    # the weight is registered again, after the bias (PyTorch's order too)
    assert list(model.state_dict()) == ["0.bias", "0.weight", "2.weight", "2.bias"]
    tprune.l1_unstructured(tmodel[0], "weight", 0.5)
    tprune.remove(tmodel[0], "weight")
    assert list(model.state_dict()) == list(tmodel.state_dict())
    np.testing.assert_array_equal(model(x).numpy(), out)
    assert any(p is m.weight for p in model.parameters())
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(m, "weight")


def test_bad_arguments():
    m = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="amount"):
        prune.l1_unstructured(m, "weight", 1.5)
    with pytest.raises(ValueError, match="amount"):
        prune.l1_unstructured(m, "weight", -1)
    with pytest.raises(TypeError, match="amount"):
        prune.l1_unstructured(m, "weight", "half")
    with pytest.raises(ValueError, match="smaller than the number"):
        prune.l1_unstructured(m, "weight", 7)
    assert not prune.is_pruned(m) and "weight" in m._parameters   # a failure changes nothing
    prune.l1_unstructured(m, "weight", 4)
    with pytest.raises(ValueError, match="smaller than the number"):
        prune.l1_unstructured(m, "weight", 3)                      # only 2 left
    assert _mask(m).sum() == 2 and len(m._forward_pre_hooks) == 1
    with pytest.raises(ValueError, match="no tensor 'gamma'"):
        prune.l1_unstructured(m, "gamma", 1)
    with pytest.raises(ValueError, match="importance_scores"):
        prune.l1_unstructured(nn.Linear(3, 2), "weight", 1, importance_scores=np.ones(3))
