"""Demonstrations from the notes' "collapsing / exploding gradients" discussion, as tests.

A stack of 20 layers h_{l} = φ(W_l h_{l−1}) (width 64, no bias, batch 256, fixed seeds). Each
test measures, per layer, the spread (std) of the activations h_l and of the gradient ∂L/∂h_l
of a random linear read-out L = Σ r·h_20, and checks how they change from the first layer to
the last. Going back one layer multiplies the gradient by Wᵀ·diag(φ'(z)), which scales its
variance by χ = σ²·n·E[φ'(z)²] for weights of variance σ²: χ ≈ 1 keeps the scale, χ < 1 makes it
vanish, χ > 1 makes it explode.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.optim import SGD

WIDTH, DEPTH, BATCH = 64, 20, 256


def _profile(init, activation: str = "tanh", seed: int = 0) -> dict:
    """Per-layer statistics of one forward and backward pass through the 20-layer stack."""
    cr.manual_seed(seed)
    layers = [nn.Linear(WIDTH, WIDTH, bias=False) for _ in range(DEPTH)]
    for layer in layers:
        init(layer.weight)
    rng = np.random.default_rng(seed)
    h = cr.tensor(rng.standard_normal((BATCH, WIDTH)).astype(np.float32))
    hs, zs = [], []
    for layer in layers:
        z = layer(h)
        h = z.tanh() if activation == "tanh" else z.relu()
        h.retain_grad()
        zs.append(z.numpy())
        hs.append(h)
    readout = cr.tensor(rng.standard_normal(h.shape).astype(np.float32))
    (h * readout).sum().backward()
    return {
        "act": np.array([t.numpy().std() for t in hs], dtype=np.float64),
        "grad": np.array([t.grad.numpy().std() for t in hs], dtype=np.float64),
        "saturated": np.array([(np.abs(t.numpy()) > 0.99).mean() for t in hs]),
        "slope": np.array([(1 - np.tanh(z.astype(np.float64)) ** 2).mean() for z in zs]),
    }


def _normal(std):
    return lambda w: nn.init.normal_(w, 0.0, std)


def _xavier_tanh(w):
    return nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))   # gain 5/3


def _he_relu(w):
    return nn.init.kaiming_normal_(w, nonlinearity="relu")                  # std √(2/n)


def test_gain_of_tanh_is_five_thirds():
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)


def test_n01_weights_saturate_tanh_and_the_gradient_scale_is_lost():
    """N(0, 1) weights: pre-activations have std ≈ √64 = 8, so tanh saturates — in every layer
    most units sit at ±1, where tanh' ≈ 0. Per unit, the backward signal is therefore multiplied
    by almost nothing (the notes' "gradients collapse" — saturated units stop learning). But the
    weights are 8× too large and more than make up for it: χ ≈ 0.53·8 ≈ 4 per layer (the
    "chaotic" regime; 0.53 = ∫sech⁴/√(2π)), so the gradient's scale grows ≈ √4 = 2× per layer
    and the gradient reaching the first layer is not small: it is ~10⁶ times the last layer's. Either way the gradient scale is lost through 20 layers; we measure both
    facts (the assertions fail for a well-scaled initialisation, see the Xavier test)."""
    p = _profile(_normal(1.0))
    assert p["saturated"][1:].min() > 0.6           # measured 0.72: most units pinned at ±1
    assert p["slope"].max() < 0.15                  # mean tanh'(z) ≤ 0.11 in every layer
    ratio = p["grad"][0] / p["grad"][-1]
    assert ratio > 1e4                              # measured 1.3e6: the scale is not preserved


def test_small_weights_make_activations_and_gradients_vanish():
    """N(0, 0.01²) weights: each layer multiplies the signal by σ·√n = 0.08, in both directions
    (tanh is linear near 0): after 20 layers the activations are ~1e-22 and so is the gradient
    reaching the first layer."""
    p = _profile(_normal(0.01))
    assert p["act"][-1] < 1e-15 * p["act"][0]       # measured 1.3e-22 vs 0.079
    assert p["grad"][0] < 1e-15 * p["grad"][-1]     # measured 1.9e-21 vs 1.0
    # and the decay is geometric, layer after layer (≈ 0.08 per layer), not a single collapse
    per_layer = p["act"][1:] / p["act"][:-1]
    assert np.all((per_layer > 0.04) & (per_layer < 0.15))


def test_xavier_keeps_tanh_activations_and_gradients_in_scale():
    p = _profile(_xavier_tanh)
    assert p["act"].max() / p["act"].min() < 2      # measured 0.64 .. 0.76
    g = p["grad"] / p["grad"][-1]
    assert g.max() / g.min() < 10                   # measured within a factor 6
    assert p["saturated"].max() < 0.15 and p["slope"].min() > 0.4   # vs 0.72 and 0.11 at N(0, 1)


def test_he_keeps_relu_activations_and_gradients_in_scale():
    p = _profile(_he_relu, activation="relu")
    assert p["act"].max() / p["act"].min() < 4      # measured 0.51 .. 1.07
    g = p["grad"] / p["grad"][-1]
    assert g.max() / g.min() < 3                    # measured within a factor 1.4
    # the same stack with Xavier's fan-average scaling without ReLU's factor 2 halves the
    # variance per layer: activations shrink by ~2^10 over 20 layers
    q = _profile(lambda w: nn.init.xavier_normal_(w), activation="relu")
    assert q["act"][-1] < 0.01 * q["act"][0]


# -- gradient clipping -------------------------------------------------------------------------
def _orthogonal(n: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _recurrence_run(lr: float, clip: float | None, steps: int = 200, n: int = 4, T: int = 30):
    """Learn W of the linear recurrence h_t = W·h_{t−1} + x_t (30 steps) from a teacher with
    spectral radius 0.8, starting from W = 1.2·(orthogonal): ∂h_T/∂W contains W^29, so the first
    gradient is ~1.2^29 ≈ 200 times larger than the loss landscape near the answer can take."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, 16, n)).astype(np.float32)
    teacher = (0.8 * _orthogonal(n, rng)).astype(np.float32)
    h = np.zeros((16, n), np.float32)
    for s in range(T):
        h = h @ teacher.T + x[s]
    target = cr.tensor(h)
    W = nn.Parameter(cr.tensor((1.2 * _orthogonal(n, rng)).astype(np.float32)))
    xs = [cr.tensor(x[s]) for s in range(T)]
    opt = SGD([W], lr=lr)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            opt.zero_grad()
            h = cr.zeros(16, n)
            for s in range(T):
                h = h @ W.T + xs[s]
            loss = nn.functional.mse_loss(h, target)
            losses.append(loss.item())
            if not np.isfinite(losses[-1]):
                break
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_([W], clip)
            opt.step()
    return losses


def test_gradient_clipping_turns_a_diverging_recurrence_into_a_converging_one():
    # without clipping, every learning rate from 1e-4 to 0.1 blows up within a few steps
    for lr in (1e-4, 1e-2, 0.1):
        losses = _recurrence_run(lr, clip=None, steps=10)
        assert not np.isfinite(losses[-1]) or losses[-1] > 1e10, (lr, losses)
    # with the gradient norm clipped to 1, lr = 0.1 recovers the teacher
    losses = _recurrence_run(0.1, clip=1.0)
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 1e-6 * losses[0]            # measured 1.05e5 -> 2e-11
