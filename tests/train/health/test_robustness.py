"""The monitor under awkward use (issue #21): a loss that raises on a measured step, one
activation module shared by several layers, non-finite activations, a second fit."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import Trainer
from chainrule.train.callbacks import Callback, GradientHealth
from chainrule.train.health import LayerCollector


def _hooks(model) -> tuple[int, int]:
    forward = sum(len(m._forward_hooks) for m in model.modules())
    post = sum(len(p._hooks.post) if p._hooks else 0 for p in model.parameters())
    return forward, post


def _loader(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 16)).astype(np.float32)
    return DataLoader(TensorDataset(cr.tensor(x), cr.tensor(x[:, :4].argmax(1))),
                      batch_size=32)


def test_a_loss_that_raises_on_a_measured_step_leaves_no_hook():
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    ce = nn.CrossEntropyLoss()
    tr = None

    def loss(out, y):
        if tr.global_step == 6:
            raise RuntimeError("boom")
        return ce(out, y)

    notes = []

    class Broken(Callback):        # a failing cleanup does not hide the error or stop others
        order = 10

        def on_exception(self, trainer, error):
            notes.append(type(error).__name__)
            raise ValueError("cleanup failed too")

    tr = Trainer(m, loss, optim.SGD(m.parameters(), lr=0.05),
                 callbacks=[Broken(), GradientHealth(every=3, warn=False)], metrics=None,
                 handle_sigint=False)
    with pytest.raises(RuntimeError, match="boom") as info:
        tr.fit(_loader(), epochs=3)
    assert _hooks(m) == (0, 0)
    assert notes == ["RuntimeError"]
    assert any("Broken.on_exception also failed" in n for n in info.value.__notes__)


def test_a_shared_activation_module_gives_each_layer_its_own_numbers():
    cr.manual_seed(0)
    act = nn.Tanh()
    l1, l2, l3 = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 4)
    with cr.no_grad():
        l2.weight.mul_(20)                               # saturates the second tanh
    m = nn.Sequential(l1, act, l2, act, l3)
    x = cr.tensor(np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32))
    with LayerCollector(m) as col:
        nn.functional.cross_entropy(m(x), cr.tensor(np.arange(64) % 4)).backward()
    stats = col.stats()
    a1 = np.tanh(l1(x)._data)
    a2 = np.tanh(l2(cr.tensor(a1))._data)
    for name, a in (("0", a1), ("2", a2)):
        s = stats[name]
        assert s.activation == "tanh" and s.calls == 1
        assert s.saturated == pytest.approx(float((np.abs(a) > 0.97).mean()))
        assert s.act_mean == pytest.approx(float(a.mean()), abs=1e-6)
        assert s.act_std == pytest.approx(float(a.std()), rel=1e-4)
    assert stats["2"].saturated > 0.5 > stats["0"].saturated
    assert stats["4"].activation is None


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_act_std_of_non_finite_activations_is_nan(bad):
    m = nn.Sequential(nn.Linear(4, 4))
    x = np.ones((3, 4), np.float32)
    x[0, 0] = bad
    with LayerCollector(m) as col:
        m(cr.tensor(x))
    s = col.stats()["0"]
    assert not math.isfinite(s.act_mean) and math.isnan(s.act_std)


def test_a_second_fit_on_the_same_trainer_extends_the_series():
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    cb = GradientHealth(every=2, warn=False, plot=False)
    tr = Trainer(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.05),
                 callbacks=[cb], metrics=None, handle_sigint=False)
    tr.fit(_loader(), epochs=2)
    tr.fit(_loader(), epochs=4)
    assert cb.record.series["0"]["epoch"] == [1, 2, 3, 4]
    assert len(cb.record.series["0"]["grad_norm"]) == 4


def test_a_run_interrupted_mid_epoch_and_resumed_has_the_uninterrupted_series(tmp_path,
                                                                           terminal_sigint):
    """The batches measured before Ctrl-C are in the checkpoint, so the resumed epoch's point
    is built from all of them."""
    import os
    import signal
    import json
    from chainrule.train import LambdaCallback, ModelCheckpoint

    def trainer(out, stop_at=None):
        cr.manual_seed(0)
        m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
        cbs = [GradientHealth(every=3, out_dir=out, plot=False, warn=False),
               ModelCheckpoint(out, best_name=None, last_name="ck.safetensors")]
        if stop_at is not None:
            cbs.append(LambdaCallback(on_batch_end=lambda t, b, logs: os.kill(
                os.getpid(), signal.SIGINT) if t.global_step == stop_at else None))
        return Trainer(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.05),
                       callbacks=cbs, metrics=None)

    trainer(tmp_path / "full").fit(_loader(320), epochs=3)
    cut = trainer(tmp_path / "cut", stop_at=14)            # in epoch 2 (10 batches each)
    cut.fit(_loader(320), epochs=3)
    assert cut.interrupted
    trainer(tmp_path / "cut").fit(_loader(320), epochs=3,
                                  resume=tmp_path / "cut" / "ck.safetensors")
    full, resumed = (json.loads((tmp_path / d / "health.json").read_text())["series"]
                     for d in ("full", "cut"))
    for layer in full:
        assert resumed[layer]["epoch"] == [1, 2, 3]
        for key in ("grad_norm", "update_ratio", "act_mean"):
            assert resumed[layer][key] == pytest.approx(full[layer][key], rel=1e-6), key
