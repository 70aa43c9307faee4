"""Each pathology planted, its verdict and layer asserted — in health.json too."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.health import KINDS, REMEDIES, Sample, diagnose, thresholds as T
from chainrule.train.health.collector import LayerStats, ParamStats
from chainrule.train.health.verdicts import (growth_verdict, lr_verdicts, overfitting_verdict)

from .problems import WIDTH, batch, kinds, relu_mlp, tanh_stack, train


def _diagnose(model, features=WIDTH):
    x, y = batch(64, features)
    return diagnose(model, (x, y), nn.functional.cross_entropy)


def test_n01_tanh_stack_is_saturated_and_exploding():
    d = _diagnose(tanh_stack(1.0))
    found = {v.kind: v for v in d.verdicts}
    assert set(found) == {"saturated", "exploding"}
    assert found["exploding"].layer == "0" and found["saturated"].layer == "0"
    ratio = d.layers["0"].delta_norm / d.layers["40"].delta_norm
    assert ratio > 1e4                    # measured 8.5e4: the first layer's δ grew
    assert d.layers["20"].saturated > 0.6  # most tanh units pinned at ±1
    assert "ratio" in found["exploding"].evidence and "20 of 20" in found["saturated"].evidence
    assert found["exploding"].remedy == REMEDIES["exploding"]


def test_small_weights_tanh_stack_vanishes_though_weight_gradients_alone_would_not_say():
    d = _diagnose(tanh_stack(0.01))
    assert [(v.kind, v.layer) for v in d.verdicts] == [("vanishing", "0")]
    assert d.layers["0"].delta_norm < 1e-15 * d.layers["40"].delta_norm
    assert d.layers["0"].bias_grad_norm < 1e-15
    assert "bias gradient" in d.verdicts[0].evidence


def test_xavier_tanh_stack_and_he_relu_mlp_are_healthy():
    cr.manual_seed(0)
    stack = tanh_stack(1.0)
    for m in stack.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("tanh"))
    assert _diagnose(stack).verdicts == []
    d = _diagnose(relu_mlp(), features=16)
    assert d.healthy and "no verdict" in str(d)


def test_nonfinite_values_name_the_layer_where_they_start():
    stack = tanh_stack(0.1)
    with cr.no_grad():
        stack[10].weight[0, 0] = float("inf")
    with np.errstate(all="ignore"):
        d = _diagnose(stack)
    assert d.verdicts[0].kind == "exploding" and d.verdicts[0].layer == "10"
    assert "non-finite" in d.verdicts[0].evidence and "weight" in d.verdicts[0].evidence
    # an overflow in the forward pass: the first layer whose output is non-finite
    m = relu_mlp()
    with np.errstate(all="ignore"):
        x, y = batch(8, 16)
        x[0, 0] = 1e38
        d = diagnose(m, (x * 1e10, y), nn.functional.cross_entropy)
    assert (d.verdicts[0].kind, d.verdicts[0].layer) == ("exploding", "0")
    assert "forward" in d.verdicts[0].evidence


def test_adam_at_lr_10_explodes_and_its_lr_is_too_high(tmp_path):
    m = relu_mlp()
    _, doc, lines = train(m, optim.Adam(m.parameters(), lr=10.0), tmp_path, epochs=2)
    found = kinds(doc)
    assert {"exploding", "lr_too_high", "diverged"} <= set(found)
    assert found["lr_too_high"] in ("0", "2", "4")
    assert any("lr too high" in line for line in lines)


def test_relu_layer_with_bias_minus_10_is_dead(tmp_path):
    m = relu_mlp(second_bias=-10.0)
    cb, doc, lines = train(m, optim.SGD(m.parameters(), lr=0.05), tmp_path, epochs=2)
    assert kinds(doc) == {"dead": "2"}   # the vanishing gradient below it is explained by it
    assert doc["series"]["2"]["dead"] == [1.0, 1.0]
    assert len(lines) == 1 and lines[0].startswith("health: epoch 1: dead at layer '2'")


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam])
def test_lr_1e_minus_7_is_too_low(tmp_path, make):
    m = relu_mlp()
    _, doc, _ = train(m, make(m.parameters(), lr=1e-7), tmp_path, epochs=2)
    assert set(kinds(doc)) == {"lr_too_low"}
    assert doc["verdicts"][0]["epoch"] == 1


@pytest.mark.parametrize("make,lr", [(optim.SGD, 0.1), (optim.Adam, 1e-3)])
def test_healthy_runs_get_no_verdict(tmp_path, make, lr):
    m = relu_mlp()
    cb, doc, lines = train(m, make(m.parameters(), lr=lr), tmp_path, epochs=3)
    assert doc["verdicts"] == [] and lines == [] and cb.verdicts == []


def test_every_verdict_kind_has_a_remedy():
    assert set(REMEDIES) == set(KINDS)


# -- rules on hand-made records -------------------------------------------------------------------
def _sample(step, grad=1.0, update=None, lr=0.1, name="0"):
    p = ParamStats(grad, 1.0, grad, update)
    return Sample(step, 1, lr, {name: LayerStats(name, "Linear", (1, 1), None, 0.0, 1.0, 1.0,
                                                 None, None, {"weight": p})})


def test_gradient_growth_over_steps_is_exploding():
    first = _sample(0, grad=0.01)
    assert growth_verdict(first, [_sample(5, grad=5.0)]) is None         # 500x: under 1e3
    v = growth_verdict(first, [_sample(5, grad=5.0), _sample(9, grad=20.0)])
    assert v.kind == "exploding" and v.layer == "0" and v.step == 9


def test_too_low_is_judged_only_while_the_lr_is_10_percent_of_its_start():
    tiny = [_sample(i, update=1e-9, lr=0.005) for i in range(20)]      # lr at 5 %: not judged
    assert lr_verdicts(tiny, "sgd", initial_lr=0.1) == []
    judged = [_sample(i, update=1e-9, lr=0.02) for i in range(20)]     # lr at 20 %
    assert [v.kind for v in lr_verdicts(judged, "sgd", initial_lr=0.1)] == ["lr_too_low"]
    few = judged[:T.LR_MIN_SAMPLES - 1]                                # too few steps
    assert lr_verdicts(few, "sgd", initial_lr=0.1) == []
    assert lr_verdicts(judged, None, initial_lr=0.1) == []             # L-BFGS: no band


def test_divergence_uses_the_shared_constant():
    from chainrule.train import DIVERGENCE_FACTOR
    assert T.DIVERGENCE_FACTOR is DIVERGENCE_FACTOR


def test_diagnose_checks_its_arguments():
    m = relu_mlp()
    with pytest.raises(TypeError, match="loss_fn"):
        diagnose(m, batch(4), None)
    with pytest.raises(TypeError, match="pair"):
        diagnose(m, batch(4)[0], nn.functional.cross_entropy)
    assert cr.diagnose(m, batch(4), nn.functional.cross_entropy).loss > 0


def test_memorising_random_labels_is_overfitting_in_health_json(tmp_path):
    """64 items with random labels: the net memorises them (training loss falls) while the
    loss on 256 other random-labelled items rises."""
    import json
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.train import fit
    from chainrule.train.callbacks import GradientHealth
    rng = np.random.default_rng(0)

    def loader(n):
        x = rng.standard_normal((n, 16)).astype(np.float32)
        return DataLoader(TensorDataset(cr.tensor(x), cr.tensor(rng.integers(0, 4, n))),
                          batch_size=32)

    m = relu_mlp()
    lines: list[str] = []
    cb = GradientHealth(every=1, out_dir=tmp_path, warn=lines.append, plot=False)
    fit(m, nn.CrossEntropyLoss(), optim.Adam(m.parameters(), lr=1e-2), loader(64),
        epochs=15, val_loader=loader(256), callbacks=[cb], metrics=None, handle_sigint=False)
    found = {v["kind"]: v for v in json.loads((tmp_path / "health.json").read_text())
             ["verdicts"]}
    assert set(found) == {"overfitting"}
    assert found["overfitting"]["layer"] is None and 2 <= found["overfitting"]["epoch"] <= 12
    assert len(lines) == 1 and "overfitting" in lines[0]


def test_a_nan_loss_in_fit_names_where_it_started(tmp_path):
    """A non-finite weight in layer '2' makes the loss NaN; the run is not stopped by the
    monitor (that is TerminateOnDivergence's job) and the verdict names layer '2'."""
    m = relu_mlp()
    with cr.no_grad():
        m[2].weight[0, 0] = float("nan")
    cb, doc, lines = train(m, optim.SGD(m.parameters(), lr=0.1), tmp_path, epochs=1, every=4)
    v = doc["verdicts"][0]
    assert (v["kind"], v["layer"], v["step"]) == ("exploding", "2", 0)
    assert "weight" in v["evidence"] and lines[0].startswith("health: epoch 1: exploding")
