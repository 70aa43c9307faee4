"""LayerCollector: each number against PyTorch (δ via retain_grad) or a direct NumPy count."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.train.health import LayerCollector


def _pair(seed: int = 0):
    """The same 3-layer net in chainrule and torch (weights copied through state_dict)."""
    cr.manual_seed(seed)
    m = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 10), nn.ReLU(),
                      nn.Linear(10, 10), nn.Sigmoid(), nn.Linear(10, 3))
    t = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 10),
                            torch.nn.ReLU(), torch.nn.Linear(10, 10), torch.nn.Sigmoid(),
                            torch.nn.Linear(10, 3))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t


def _batch(n: int = 7, seed: int = 1):
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal((n, 6))).astype(np.float32)
    y = rng.integers(0, 3, n)
    return x, y


def test_numbers_match_torch():
    m, t = _pair()
    x, y = _batch()
    with LayerCollector(m) as col:
        nn.functional.cross_entropy(m(cr.tensor(x)), cr.tensor(y)).backward()
    stats = col.stats()
    outs, acts = {}, {}
    h = torch.tensor(x)
    for i, mod in enumerate(t):
        h = mod(h)
        if isinstance(mod, torch.nn.Linear):
            h.retain_grad()
            outs[str(i)] = h
        else:
            acts[str(i - 1)] = h
    torch.nn.functional.cross_entropy(h, torch.tensor(y)).backward()
    assert list(stats) == ["0", "2", "4", "6"]
    for name, s in stats.items():
        ref = outs[name]
        assert s.kind == "Linear" and s.out_shape == tuple(ref.shape)
        assert s.delta_norm == pytest.approx(ref.grad.norm().item(), rel=1e-4)
        a = acts.get(name, ref).detach().numpy()
        assert s.act_mean == pytest.approx(a.mean(), rel=1e-4, abs=1e-6)
        assert s.act_std == pytest.approx(a.std(), rel=1e-4)
        layer = t[int(name)]
        for pname, p in layer.named_parameters():
            ps = s.params[pname]
            assert ps.grad_norm == pytest.approx(p.grad.norm().item(), rel=1e-4)
            assert ps.weight_norm == pytest.approx(p.detach().norm().item(), rel=1e-5)
            assert ps.grad_to_weight == pytest.approx(ps.grad_norm / ps.weight_norm)
            assert ps.update_ratio is None
        assert s.grad_norm == s.params["weight"].grad_norm
        assert s.bias_grad_norm == s.params["bias"].grad_norm
    assert [stats[n].activation for n in stats] == ["tanh", "relu", "sigmoid", None]
    tanh_a, relu_a, sig_a = (acts[n].detach().numpy() for n in ("0", "2", "4"))
    assert stats["0"].saturated == pytest.approx((np.abs(tanh_a) > 0.97).mean())
    assert stats["0"].saturated > 0            # inputs of std 3 do saturate some units
    assert stats["4"].saturated == pytest.approx(((sig_a < 0.03) | (sig_a > 0.97)).mean())
    assert stats["2"].dead == pytest.approx((relu_a <= 0).all(axis=0).mean())
    assert stats["0"].dead is None and stats["2"].saturated is None
    assert stats["6"].saturated is None and stats["6"].dead is None


def test_dead_units_counted_over_the_whole_batch():
    cr.manual_seed(0)
    lin = nn.Linear(4, 8)
    m = nn.Sequential(lin, nn.ReLU(), nn.Linear(8, 2))
    with cr.no_grad():
        lin.bias[:3] = -100.0   # three units never fire
        lin.bias[3:] = 100.0    # the rest always fire
    with LayerCollector(m) as col:
        m(cr.randn(5, 4)).sum().backward()
    assert col.stats()["0"].dead == pytest.approx(3 / 8)


def test_conv_dead_units_are_channels():
    cr.manual_seed(0)
    conv = nn.Conv2d(1, 4, 3)
    m = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    with cr.no_grad():
        conv.bias[0] = -100.0
    with LayerCollector(m) as col:
        m(cr.randn(3, 1, 6, 6)).sum().backward()
    s = col.stats()
    assert list(s) == ["0", "3"] and s["0"].kind == "Conv2d"
    assert s["0"].dead == pytest.approx(1 / 4)


def test_update_ratio_and_hooks_removed():
    m, _ = _pair()
    x, y = _batch()
    opt = cr.optim.SGD(m.parameters(), lr=0.5)
    with LayerCollector(m) as col:
        nn.functional.cross_entropy(m(cr.tensor(x)), cr.tensor(y)).backward()
        col.snapshot_weights()
        before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
        opt.step()
        col.measure_update()
    s = col.stats()
    w0 = before["0.weight"]
    expected = np.linalg.norm(m[0].weight.numpy() - w0) / np.linalg.norm(w0)
    assert s["0"].update_ratio == pytest.approx(expected, rel=1e-4)
    assert s["0"].update_ratio == pytest.approx(0.5 * s["0"].params["weight"].grad_to_weight,
                                                rel=2e-3)   # SGD: ΔW = −γ∇W (‖W‖ before vs after)
    assert all(len(mod._forward_hooks) == 0 for mod in m.modules())
    assert all(not p._hooks.post for p in m.parameters() if p._hooks is not None)
    # after exit, new passes change nothing
    m(cr.tensor(x)).sum().backward()
    assert col.stats()["0"].delta_norm == s["0"].delta_norm


def test_tiny_deltas_do_not_underflow():
    """δ of 1e-25: its square underflows float32, the float64 norm keeps it."""
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 3))
    with LayerCollector(m) as col:
        (m(cr.randn(2, 3)).sum() * 1e-25).backward()
    d = col.stats()["(model)" if "(model)" in col.stats() else "0"].delta_norm
    assert d == pytest.approx(np.sqrt(6) * 1e-25, rel=1e-5)


def test_layer_outside_sequential_has_no_activation_and_unrun_layers_last():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = nn.Linear(2, 2)
            self.a = nn.Linear(4, 5)
            self.b = nn.Linear(5, 2)

        def forward(self, x):
            return self.b(self.a(x).tanh())

    cr.manual_seed(0)
    net = Net()
    with LayerCollector(net) as col:
        net(cr.randn(3, 4)).sum().backward()
    s = col.stats()
    assert list(s) == ["a", "b", "unused"]
    assert s["a"].activation is None and s["a"].saturated is None
    assert s["unused"].delta_norm is None and s["unused"].params["weight"].grad_norm is None


def test_measure_update_needs_a_snapshot():
    m, _ = _pair()
    with LayerCollector(m) as col:
        with pytest.raises(RuntimeError, match="snapshot_weights"):
            col.measure_update()
    with pytest.raises(TypeError, match="Module"):
        LayerCollector(object())
