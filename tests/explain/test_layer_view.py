"""cr.explain.layers: the collector's numbers, δᵀ·a per linear layer, against torch."""
import numpy as np
import pytest
import torch

import chainrule as cr

nn = cr.nn


def _model_and_batch():
    cr.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5), nn.ReLU(),
                          nn.Linear(5, 3))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    return model, x, y


def test_layer_view_matches_torch():
    model, x, y = _model_and_batch()
    view = cr.explain.layers(model, cr.tensor(x), cr.tensor(y), nn.CrossEntropyLoss())
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5),
                             torch.nn.ReLU(), torch.nn.Linear(5, 3))
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    outs = []
    h = torch.tensor(x)
    for m in tm:
        h = m(h)
        if isinstance(m, torch.nn.Linear):
            h.retain_grad()
            outs.append(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(y))
    loss.backward()
    assert view.loss == pytest.approx(loss.item(), rel=1e-6)
    assert list(view.layers) == ["0", "2", "4"] == list(view.products)
    torch_linears = [m for m in tm if isinstance(m, torch.nn.Linear)]
    for (name, stats), out, tl in zip(view.layers.items(), outs, torch_linears):
        assert stats.out_shape == tuple(out.shape)
        assert stats.delta_norm == pytest.approx(out.grad.norm().item(), rel=1e-5)
        assert stats.params["weight"].grad_norm == pytest.approx(tl.weight.grad.norm().item(),
                                                                 rel=1e-5)
        product = view.products[name]
        assert product.matches
        assert product.norm == pytest.approx(tl.weight.grad.norm().item(), rel=1e-5)
        assert product.grad_shape == tuple(tl.weight.shape)
    text = str(view)
    assert "Jacobian products" in text and "δ (10, 8)ᵀ · a (10, 6) → (8, 6)" in text
    assert "Linear+tanh" in text and "‖∇bias‖" in text


def test_gradients_are_put_back_and_the_figure_is_saved(tmp_path):
    model, x, y = _model_and_batch()
    for p in model.parameters():
        p.grad = cr.tensor(np.full(p.shape, 7.0, np.float32))
    before = [p.grad for p in model.parameters()]
    view = cr.explain.layers(model, x, cr.tensor(y), nn.CrossEntropyLoss())
    assert all(p.grad is g for p, g in zip(model.parameters(), before))
    assert all(float(g._data.max()) == 7.0 for g in before)
    view.save(tmp_path / "layers.png")
    assert (tmp_path / "layers.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"'\.txt'"):
        view.save(tmp_path / "layers.txt")


def test_bad_arguments_are_named():
    model, x, y = _model_and_batch()
    with pytest.raises(TypeError, match="Module"):
        cr.explain.layers(lambda v: v, x, y, nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="scalar"):
        cr.explain.layers(model, x, y, lambda out, target: out)
    assert all(p.grad is None for p in model.parameters())
