"""Workload A written by hand in NumPy: the floor a framework's step can be compared with.

Forward h₁ = relu(x·W₁ᵀ + b₁), h₂ = relu(h₁·W₂ᵀ + b₂), z = h₂·W₃ᵀ + b₃, loss = mean over the
batch of −log softmax(z)_y; backward by hand (∂L/∂z = (softmax(z) − onehot(y)) / N, then
∂L/∂Wᵢ = Gᵢᵀ·hᵢ₋₁, ∂L/∂bᵢ = Σ_rows Gᵢ, Gᵢ₋₁ = (Gᵢ·Wᵢ) ⊙ [hᵢ₋₁ > 0]; no gradient for x);
SGD with momentum in place (v ← μv + g, θ ← θ − ηv). Same weights as ``bench.models.build``.
"""
from __future__ import annotations

import numpy as np

from .models import ARCHITECTURES, init_state, library


class NumpyMLP:
    """784-512-512-10 with the suite's initial weights; ``step(x, y)`` returns the loss."""

    def __init__(self, seed: int, lr: float = 0.01, momentum: float = 0.9):
        state = init_state(ARCHITECTURES["mlp"](library("chainrule")), seed)
        self.w = [state[f"{i}.weight"] for i in (0, 2, 4)]
        self.b = [state[f"{i}.bias"] for i in (0, 2, 4)]
        self.params = self.w + self.b
        self.bufs = None
        self.lr, self.momentum = lr, momentum

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        w1, w2, w3 = self.w
        b1, b2, b3 = self.b
        h1 = x @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)              # softmax
        rows = np.arange(len(y))
        loss = float(-np.log(z[rows, y]).mean())
        z[rows, y] -= 1
        z *= np.float32(1 / len(y))                     # ∂L/∂z
        g3w, g3b = z.T @ h2, z.sum(axis=0)
        d2 = z @ w3
        d2 *= h2 > 0
        g2w, g2b = d2.T @ h1, d2.sum(axis=0)
        d1 = d2 @ w2
        d1 *= h1 > 0
        g1w, g1b = d1.T @ x, d1.sum(axis=0)
        grads = [g1w, g2w, g3w, g1b, g2b, g3b]
        if self.bufs is None:
            self.bufs = [g.copy() for g in grads]
        else:
            for buf, g in zip(self.bufs, grads):
                buf *= self.momentum
                buf += g
        for p, buf in zip(self.params, self.bufs):
            p -= self.lr * buf
        return loss
