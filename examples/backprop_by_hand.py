"""Backpropagation by hand versus backward(): the same gradients, derived two ways.

A two-layer network on a batch of B inputs, written with the notes' symbols:

    z1 = X·W1 + b1,   h = tanh(z1),   z2 = h·W2 + b2,   p = softmax(z2),
    L = −(1/B) Σ_n log p[n, y_n]

Backward, one local derivative per step (the chain rule applied from the loss down):

    δ2 = ∂L/∂z2 = (p − onehot(y)) / B
    ∂L/∂W2 = hᵀ·δ2,            ∂L/∂b2 = Σ_n δ2
    ∂L/∂h  = δ2·W2ᵀ,           δ1 = ∂L/∂z1 = ∂L/∂h ⊙ (1 − h²)      (tanh′ = 1 − tanh²)
    ∂L/∂W1 = Xᵀ·δ1,            ∂L/∂b1 = Σ_n δ1,    ∂L/∂X = δ1·W1ᵀ

The script computes these with NumPy, then lets chainrule build the graph and call backward(),
and prints the largest difference for each gradient (float64: they agree to ~1e-16).

Run:  python examples/backprop_by_hand.py
"""
from __future__ import annotations

import numpy as np

import chainrule as cr


def by_hand(x, y, w1, b1, w2, b2) -> dict[str, np.ndarray]:
    batch = len(x)
    z1 = x @ w1 + b1                       # forward, keeping what backward needs
    h = np.tanh(z1)
    z2 = h @ w2 + b2
    z2 = z2 - z2.max(axis=1, keepdims=True)
    p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(batch), y]).mean()
    delta2 = p.copy()                      # backward
    delta2[np.arange(batch), y] -= 1
    delta2 /= batch
    dh = delta2 @ w2.T
    delta1 = dh * (1 - h ** 2)
    return {"loss": loss, "W1": x.T @ delta1, "b1": delta1.sum(0), "W2": h.T @ delta2,
            "b2": delta2.sum(0), "X": delta1 @ w1.T}


def by_backward(x, y, w1, b1, w2, b2) -> dict[str, np.ndarray]:
    t = {name: cr.tensor(v, requires_grad=True) for name, v in
         dict(X=x, W1=w1, b1=b1, W2=w2, b2=b2).items()}
    logits = cr.tanh(t["X"] @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = cr.nn.functional.cross_entropy(logits, cr.tensor(y))
    loss.backward()
    return {"loss": loss.item(), **{name: v.grad.numpy() for name, v in t.items()}}


def main(batch: int = 32, n_in: int = 6, n_hidden: int = 16, n_out: int = 4,
         seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in))
    y = rng.integers(0, n_out, batch)
    w1 = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    w2 = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    hand = by_hand(x, y, w1, b1, w2, b2)
    auto = by_backward(x, y, w1, b1, w2, b2)
    print(f"loss: by hand {hand['loss']:.12f}   chainrule {auto['loss']:.12f}")
    worst = abs(hand["loss"] - auto["loss"])
    for name in ("W2", "b2", "W1", "b1", "X"):
        gap = float(np.abs(hand[name] - auto[name]).max())
        worst = max(worst, gap)
        print(f"∂L/∂{name:<3} shape {str(hand[name].shape):<9} largest |by hand − backward()| "
              f"= {gap:.1e}")
    return worst


if __name__ == "__main__":
    main()
