"""The lecture notes' worked examples, reproduced with backward()."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_x2y_plus_y_plus_2():
    """f(x, y) = x²y + y + 2 at (3, 4): f = 42, ∂f/∂x = 2xy = 24, ∂f/∂y = x² + 1 = 10."""
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.tensor(4.0, requires_grad=True)
    f = x * x * y + y + 2
    f.backward()
    assert (f.item(), x.grad.item(), y.grad.item()) == (42.0, 24.0, 10.0)


def _sigma_prime(z: float) -> float:
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def test_circuit_weights_on_edges_with_sigmoid():
    """f = x1 − σ(w3·x3 + w4·x4): ∂f/∂w3 = −σ′(net)·x3."""
    vals = dict(x1=0.7, x3=1.5, x4=-0.4, w3=0.8, w4=1.2)
    t = {k: cr.tensor(v, dtype=cr.float64, requires_grad=True) for k, v in vals.items()}
    f = t["x1"] - cr.sigmoid(t["w3"] * t["x3"] + t["w4"] * t["x4"])
    f.backward()
    net = vals["w3"] * vals["x3"] + vals["w4"] * vals["x4"]
    assert t["w3"].grad.item() == pytest.approx(-_sigma_prime(net) * vals["x3"], rel=1e-12)
    assert t["x1"].grad.item() == 1.0


def test_circuit_multiple_paths_sum():
    """With x1 = x3 + x5, x3 reaches f on two paths: ∂f/∂x3 = 1 − σ′(net)·w3."""
    vals = dict(x3=1.5, x4=-0.4, x5=0.3, w3=0.8, w4=1.2)
    t = {k: cr.tensor(v, dtype=cr.float64, requires_grad=True) for k, v in vals.items()}
    f = (t["x3"] + t["x5"]) - cr.sigmoid(t["w3"] * t["x3"] + t["w4"] * t["x4"])
    f.backward()
    net = vals["w3"] * vals["x3"] + vals["w4"] * vals["x4"]
    assert t["x3"].grad.item() == pytest.approx(1 - _sigma_prime(net) * vals["w3"], rel=1e-12)


def test_single_neuron_and_sum_circuits():
    """f = x1 − (x3 + x4): ∂f/∂x1 = 1, ∂f/∂x3 = ∂f/∂x4 = −1; with w: ∂f/∂w3 = −x3."""
    x1, x3, x4, w3, w4 = (cr.tensor(v, requires_grad=True) for v in (2.0, 3.0, 5.0, 0.5, -1.0))
    (x1 - (x3 + x4)).backward()
    assert (x1.grad.item(), x3.grad.item(), x4.grad.item()) == (1.0, -1.0, -1.0)
    (x1 - (w3 * x3 + w4 * x4)).backward()
    assert w3.grad.item() == -3.0


def test_five_linear_maps_without_activation_collapse_to_one_matrix():
    """y = A5·A4·A3·A2·A1·x = B·x, and backprop gives ∂(Σy)/∂x = Bᵀ·1."""
    cr.manual_seed(0)
    mats = [cr.randn(4, 4, dtype=cr.float64) for _ in range(5)]
    x = cr.randn(4, dtype=cr.float64, requires_grad=True)
    y = x
    for a in mats:
        y = a @ y
    b = mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0]
    np.testing.assert_allclose(y.numpy(), (b @ x).numpy(), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), b.numpy().T @ np.ones(4), rtol=1e-12)
