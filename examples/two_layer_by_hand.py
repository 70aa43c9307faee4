"""A two-layer network trained by hand: forward, loss, backward, update — nothing hidden.

The data are two interleaved spirals (a synthetic, offline dataset); the network is
x → tanh(x·W1 + b1) → ·W2 + b2 → softmax cross-entropy, written out with chainrule's tensor ops.
Run:  python examples/two_layer_by_hand.py
"""
from __future__ import annotations

import math

import numpy as np

import chainrule as cr


def spirals(n_per_class: int = 200, noise: float = 0.15, seed: int = 0):
    """Two spirals in the plane, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n_per_class)) * 3 * math.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * math.pi)
    x = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n_per_class, 2)) / 3
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    return x.astype(np.float32), y


def main(steps: int = 1500, hidden: int = 32, lr: float = 0.5, seed: int = 0) -> float:
    cr.manual_seed(seed)
    x_np, y_np = spirals(seed=seed)
    x, onehot = cr.tensor(x_np), cr.tensor(np.eye(2, dtype=np.float32)[y_np])

    w1 = (cr.randn(2, hidden) * math.sqrt(1 / 2)).requires_grad_()
    b1 = cr.zeros(hidden, requires_grad=True)
    w2 = (cr.randn(hidden, 2) * math.sqrt(1 / hidden)).requires_grad_()
    b2 = cr.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2]

    for step in range(steps + 1):
        h = cr.tanh(x @ w1 + b1)                                   # forward
        logits = h @ w2 + b2
        log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
        loss = -(onehot * log_probs).sum(dim=1).mean()            # cross-entropy
        for p in params:
            p.grad = None
        loss.backward()                                             # backward
        with cr.no_grad():                                          # update
            for p in params:
                p -= lr * p.grad
        if step % 250 == 0:
            acc = (logits.argmax(dim=1).numpy() == y_np).mean()
            print(f"step {step:5d}   loss {loss.item():.4f}   accuracy {acc:.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
