"""Workload G (issue #17): the textbook LeNet with batch norm, one epoch of synthetic MNIST.

LeNet-5 as textbooks train it on 1×28×28 without padding: conv 5×5 1→6, batch norm, sigmoid,
2×2 average pool, conv 5×5 6→16, batch norm, sigmoid, average pool (28 → 24 → 12 → 8 → 4),
then 256 → 120 → 84 → 10 fully connected with batch norm and sigmoid between. ``bn='nn'`` uses
the library's ``nn.BatchNorm2d``/``BatchNorm1d``; ``bn='textbook'`` a batch norm written from
tensor ops as a textbook does (mean and variance over (0, 2, 3) or 0, moving averages with
momentum 0.1). Convolution and linear weights come from :func:`bench.models.init_state`; batch
norm starts at γ = 1, β = 0 in both libraries. Plain SGD, batch 128.
"""
from __future__ import annotations

import time

import numpy as np

from .models import init_state, library

EPS, MOMENTUM = 1e-5, 0.1


def textbook_batch_norm(L):
    """A batch-norm Module class for library ``L``, built from tensor ops only."""

    class BatchNorm(L.nn.Module):
        def __init__(self, num_features: int, num_dims: int):
            super().__init__()
            shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
            self.dims = (0,) if num_dims == 2 else (0, 2, 3)
            self.gamma = L.nn.Parameter(L.mod.ones(shape))
            self.beta = L.nn.Parameter(L.mod.zeros(shape))
            self.register_buffer("moving_mean", L.mod.zeros(shape))
            self.register_buffer("moving_var", L.mod.ones(shape))

        def forward(self, x):
            if not self.training:
                x_hat = (x - self.moving_mean) / L.mod.sqrt(self.moving_var + EPS)
            else:  # x̂ = (x − μ_B) / √(σ²_B + ε), statistics of this batch
                mean = x.mean(dim=self.dims, keepdim=True)
                var = ((x - mean) ** 2).mean(dim=self.dims, keepdim=True)
                x_hat = (x - mean) / L.mod.sqrt(var + EPS)
                self.moving_mean = (1.0 - MOMENTUM) * self.moving_mean + MOMENTUM * mean.detach()
                self.moving_var = (1.0 - MOMENTUM) * self.moving_var + MOMENTUM * var.detach()
            return self.gamma * x_hat + self.beta

    return BatchNorm


def lenet(L, bn: str = "nn"):
    """The textbook LeNet with batch norm (``bn``: 'nn' or 'textbook')."""
    nn = L.nn
    if bn == "nn":
        def norm(c, dims):
            return nn.BatchNorm2d(c) if dims == 4 else nn.BatchNorm1d(c)
    elif bn == "textbook":
        norm = textbook_batch_norm(L)
    else:
        raise ValueError(f"lenet: bn must be 'nn' or 'textbook', got {bn!r}")
    return nn.Sequential(nn.Conv2d(1, 6, 5), norm(6, 4), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), norm(16, 4), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Flatten(), nn.Linear(256, 120), norm(120, 2), nn.Sigmoid(),
                         nn.Linear(120, 84), norm(84, 2), nn.Sigmoid(), nn.Linear(84, 10))


def build_lenet(L, bn: str, seed: int):
    """:func:`lenet` with the suite's NumPy weights for its convolutions and linear layers."""
    model = lenet(L, bn)
    state = model.state_dict()
    drawn = init_state(model, seed)
    for key, value in state.items():
        wkey = key.rsplit(".", 1)[0] + ".weight"
        if len(state[wkey].shape) > 1 if wkey in state else False:  # a conv or linear layer
            state[key] = L.from_numpy(drawn[key])
    model.load_state_dict(state)
    return model


def epoch_data(examples: int, batch: int, seed: int) -> list:
    """``examples`` synthetic 1×28×28 inputs in [0, 1) and labels 0..9, in batches."""
    rng = np.random.default_rng(seed)
    x = rng.random((examples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, examples, dtype=np.int64)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, examples, batch)]


def lenet_epoch(lib: str, bn: str, examples: int, batch: int, lr: float, seed: int,
                threads: int | None = None, warmup: int = 3) -> dict:
    """G: one epoch of ``examples`` (after ``warmup`` steps on its first batches, not timed);
    samples/s = examples / the epoch's wall time."""
    L = library(lib, threads)
    data = [(L.from_numpy(x), L.from_numpy(y)) for x, y in epoch_data(examples, batch, seed + 1)]
    model = build_lenet(L, bn, seed)
    opt = L.optim.SGD(model.parameters(), lr=lr)
    F = L.F

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    first = float(step(*data[0]).item())
    for i in range(1, warmup):
        step(*data[i % len(data)])
    steps = []
    t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    for x, y in data:
        s = time.perf_counter()
        loss = step(x, y)
        steps.append(time.perf_counter() - s)
    last = float(loss.item())
    wall, cpu, proc = (time.perf_counter() - t0, time.thread_time() - c0,
                       time.process_time() - p0)
    return {"samples_per_s": examples / wall, "cpu_samples_per_s": examples / max(cpu, 1e-9),
            "epoch_s": wall, "cpu_epoch_s": cpu, "proc_epoch_s": proc,
            "step_ms": float(np.median(steps)) * 1e3, "first_loss": first, "last_loss": last,
            "examples": examples}
