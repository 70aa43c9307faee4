"""A small MLP written by hand twice — in chainrule and in PyTorch — for optimizer comparisons.

Model: y = tanh(x·W1ᵀ + b1)·W2ᵀ + b2, loss = mean((y − t)²). Step k uses minibatch k mod 4 of a
fixed 32-example data set, so gradients vary from step to step as in real training.
"""
from __future__ import annotations

import numpy as np

import chainrule as cr

SHAPES = [(8, 4), (8,), (3, 8), (3,)]
N_BATCHES, BATCH = 4, 8


def initial_weights(dtype=np.float64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.5).astype(dtype) for s in SHAPES]


def dataset(dtype=np.float64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_BATCHES * BATCH, 4))
    t = np.sin(x[:, :3] * 1.5) + 0.1 * rng.standard_normal((N_BATCHES * BATCH, 3))
    return x.astype(dtype), t.astype(dtype)


def batch(data, k: int):
    x, t = data
    i = (k % N_BATCHES) * BATCH
    return x[i:i + BATCH], t[i:i + BATCH]


def cr_params(arrays) -> list:
    return [cr.tensor(a.copy(), requires_grad=True) for a in arrays]


def cr_loss(params, xb, tb, negate: bool = False):
    w1, b1, w2, b2 = params
    y = (cr.tensor(xb) @ w1.T + b1).tanh() @ w2.T + b2
    loss = ((y - cr.tensor(tb)) ** 2).mean()
    return -loss if negate else loss


def cr_train(opt, params, data, start: int, steps: int, negate: bool = False) -> None:
    for k in range(start, start + steps):
        xb, tb = batch(data, k)
        opt.zero_grad()
        cr_loss(params, xb, tb, negate).backward()
        opt.step()


def torch_params(arrays) -> list:
    import torch
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def torch_train(opt, params, data, start: int, steps: int, negate: bool = False) -> None:
    import torch
    w1, b1, w2, b2 = params
    for k in range(start, start + steps):
        xb, tb = batch(data, k)
        opt.zero_grad()
        y = torch.tanh(torch.from_numpy(xb) @ w1.T + b1) @ w2.T + b2
        loss = ((y - torch.from_numpy(tb)) ** 2).mean()
        (-loss if negate else loss).backward()
        opt.step()


def max_diff(cr_ps, torch_ps) -> float:
    return max(float(np.max(np.abs(a.numpy() - b.detach().numpy()))) for a, b in zip(cr_ps, torch_ps))
