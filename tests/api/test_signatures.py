"""Positional arguments mean what PyTorch's documented signatures say they mean.

Each row is one call written once against a module ``m`` (``chainrule`` or ``torch``), run on
both with the same inputs: the results must agree, or, where torch refuses the call, chainrule
must refuse it with the same exception type, never read an argument as a different parameter.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)
X3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
IDX = RNG.integers(0, 5, (4, 2)).astype(np.int64)
TARGET = np.array([1, 0, 4, 2], np.int64)


def _F(m):
    return m.nn.functional


CALLS = {
    # reductions: (input, dim, keepdim) and the var family's (dim, unbiased, keepdim) / (unbiased)
    "sum(x, 1, True)": lambda m, x: m.sum(x, 1, True),
    "x.sum(1, True)": lambda m, x: x.sum(1, True),
    "sum(x, (0, 1), True)": lambda m, x: m.sum(x, (0, 1), True),
    "mean(x, 0, True)": lambda m, x: m.mean(x, 0, True),
    "x.mean(-1)": lambda m, x: x.mean(-1),
    "max(x, 1, True)": lambda m, x: m.max(x, 1, True),
    "x.max(0)": lambda m, x: x.max(0),
    "max(x, keepdim=True)": lambda m, x: m.max(x, keepdim=True),
    "x.min(keepdim=True)": lambda m, x: x.min(keepdim=True),
    "min(x, 1, False)": lambda m, x: m.min(x, 1, False),
    "max(x, y)": lambda m, x: m.max(x, x * 0.5),
    "amax(x, 1, True)": lambda m, x: m.amax(x, 1, True),
    "amin(x, (0, 1))": lambda m, x: m.amin(x, (0, 1)),
    "prod(x, 1, True)": lambda m, x: m.prod(x, 1, True),
    "logsumexp(x, 1, True)": lambda m, x: m.logsumexp(x, 1, True),
    "argmax(x, 1, True)": lambda m, x: m.argmax(x, 1, True),
    "x.argmin(0, True)": lambda m, x: x.argmin(0, True),
    "all(x > 0, 1, True)": lambda m, x: m.all(x > 0, 1, True),
    "any(x > 0, 0)": lambda m, x: m.any(x > 0, 0),
    "std(x, True)": lambda m, x: m.std(x, True),
    "std(x, False)": lambda m, x: m.std(x, False),
    "x.std(False)": lambda m, x: x.std(False),
    "std(x, 1, True)": lambda m, x: m.std(x, 1, True),
    "std(x, 1, False, True)": lambda m, x: m.std(x, 1, False, True),
    "std(x, 1, True, True)": lambda m, x: m.std(x, 1, True, True),
    "std(x, (0, 1), False)": lambda m, x: m.std(x, (0, 1), False),
    "std(x, None, False)": lambda m, x: m.std(x, None, False),
    "std(x, 1, correction=0)": lambda m, x: m.std(x, 1, correction=0),
    "std(x, 1, correction=None)": lambda m, x: m.std(x, 1, correction=None),
    "std(x, correction=None)": lambda m, x: m.std(x, correction=None),
    "std(x, 0, correction=2.5)": lambda m, x: m.std(x, 0, correction=2.5),
    "std(x, 1, False, keepdim=True)": lambda m, x: m.std(x, 1, False, keepdim=True),
    "std(x, 1, True, correction=0)": lambda m, x: m.std(x, 1, True, correction=0),
    "std(x, True, True)": lambda m, x: m.std(x, True, True),
    "var(x, True)": lambda m, x: m.var(x, True),
    "var(x, False)": lambda m, x: m.var(x, False),
    "x.var(1, False, True)": lambda m, x: x.var(1, False, True),
    "var(x, 0, unbiased=False)": lambda m, x: m.var(x, 0, unbiased=False),
    "var(x, 1, correction=None)": lambda m, x: m.var(x, 1, correction=None),
    "var_mean(x, False)": lambda m, x: m.var_mean(x, False),
    "var_mean(x, 1, False, True)": lambda m, x: m.var_mean(x, 1, False, True),
    "var_mean(x, 1, correction=None)": lambda m, x: m.var_mean(x, 1, correction=None),
    "std_mean(x, True)": lambda m, x: m.std_mean(x, True),
    "std_mean(x, 0, False, True)": lambda m, x: m.std_mean(x, 0, False, True),
    "cumsum(x, 1)": lambda m, x: m.cumsum(x, 1),
    "norm(x, 1, 1, True)": lambda m, x: m.norm(x, 1, 1, True),
    "x.norm(2, 0)": lambda m, x: x.norm(2, 0),
    "norm(x, 'fro', (0, 1))": lambda m, x: m.norm(x, "fro", (0, 1)),
    "norm(x, 2, 1, False, None, float64)": lambda m, x: m.norm(x, 2, 1, False, None, m.float64),
    "x.norm(2, 1, True, dtype=float64)": lambda m, x: x.norm(2, 1, True, dtype=m.float64),
    "x.norm(2, 1, False, float64)": lambda m, x: x.norm(2, 1, False, m.float64),
    # NumPy's aliases work alone and never silently override the PyTorch-named argument
    "sum(x, axis=1)": lambda m, x: m.sum(x, axis=1),
    "mean(x, axis=0, keepdims=True)": lambda m, x: m.mean(x, axis=0, keepdims=True),
    "x.sum(axis=(0, 1))": lambda m, x: x.sum(axis=(0, 1)),
    "sum(x, 1, keepdims=True)": lambda m, x: m.sum(x, 1, keepdims=True),
    "cat([x, x], axis=1)": lambda m, x: m.cat([x, x], axis=1),
    "sum(x, 1, axis=0)": lambda m, x: m.sum(x, 1, axis=0),
    "sum(x, 1, True, keepdims=False)": lambda m, x: m.sum(x, 1, True, keepdims=False),
    "mean(x, 0, axis=1)": lambda m, x: m.mean(x, 0, axis=1),
    "amax(x, 1, axis=1)": lambda m, x: m.amax(x, 1, axis=1),
    "max(x, 1, axis=0)": lambda m, x: m.max(x, 1, axis=0),
    "argmax(x, 1, axis=0)": lambda m, x: m.argmax(x, 1, axis=0),
    "logsumexp(x, 1, True, keepdims=False)": lambda m, x: m.logsumexp(x, 1, True,
                                                                      keepdims=False),
    "cumsum(x, 1, axis=0)": lambda m, x: m.cumsum(x, 1, axis=0),
    "cat([x, x], 0, axis=1)": lambda m, x: m.cat([x, x], 0, axis=1),
    "std(x, 1, axis=0)": lambda m, x: m.std(x, 1, axis=0),
    # pointwise
    "clamp(x, 0, 1)": lambda m, x: m.clamp(x, 0, 1),
    "clamp(x, None, 0.5)": lambda m, x: m.clamp(x, None, 0.5),
    "x.clamp(-0.5)": lambda m, x: x.clamp(-0.5),
    "clip(x, -1, 0)": lambda m, x: m.clip(x, -1, 0),
    "add(x, y, alpha=2)": lambda m, x: m.add(x, x * 3, alpha=2),
    "sub(x, 1.5)": lambda m, x: m.sub(x, 1.5),
    "x.sub(x, alpha=0.5)": lambda m, x: x.sub(x * 2, alpha=0.5),
    "pow(x, 2)": lambda m, x: m.pow(x, 2),
    "div(x, 3, rounding_mode='floor')": lambda m, x: m.div(x, 3, rounding_mode="floor"),
    "where(x > 0, x, 0.0)": lambda m, x: m.where(x > 0, x, 0.0),
    # shapes
    "transpose(x, 0, 1)": lambda m, x: m.transpose(x, 0, 1),
    "x.transpose(1, 0)": lambda m, x: x.transpose(1, 0),
    "flatten(x3, 1)": lambda m, x: m.flatten(m.reshape(x, (2, 2, 5)), 1),
    "flatten(x3, 0, 1)": lambda m, x: m.flatten(m.reshape(x, (2, 2, 5)), 0, 1),
    "unflatten(x, 1, (5, 1))": lambda m, x: m.unflatten(x, 1, (5, 1)),
    "x.unflatten(0, [2, -1])": lambda m, x: x.unflatten(0, [2, -1]),
    "unflatten(x, 0, (3, 2))": lambda m, x: m.unflatten(x, 0, (3, 2)),
    "unflatten(x, 0, ())": lambda m, x: m.unflatten(x, 0, ()),
    "unflatten(x, 0, (-1, -1))": lambda m, x: m.unflatten(x, 0, (-1, -1)),
    "x.permute(1, 0)": lambda m, x: x.permute(1, 0),
    "x.permute((1, 0))": lambda m, x: x.permute((1, 0)),
    "permute(x, (1, 0))": lambda m, x: m.permute(x, (1, 0)),
    "x.reshape(2, 10)": lambda m, x: x.reshape(2, 10),
    "reshape(x, (5, -1))": lambda m, x: m.reshape(x, (5, -1)),
    "x.view(-1)": lambda m, x: x.view(-1),
    "x.view(20.0)": lambda m, x: x.view(20.0),
    "x.reshape(True, 20)": lambda m, x: x.reshape(True, 20),
    "unsqueeze(x, 1)": lambda m, x: m.unsqueeze(x, 1),
    "squeeze(x[None], 0)": lambda m, x: m.squeeze(x[None], 0),
    "x.expand(2, 4, 5)": lambda m, x: x.expand(2, 4, 5),
    "x.expand(2, -1, -1)": lambda m, x: x.expand(2, -1, -1),
    "x.repeat(2, 1)": lambda m, x: x.repeat(2, 1),
    "tile(x, (1, 2))": lambda m, x: m.tile(x, (1, 2)),
    "movedim(x, 0, 1)": lambda m, x: m.movedim(x, 0, 1),
    "cat((x, x), 1)": lambda m, x: m.cat((x, x), 1),
    "cat([x, x], -1)": lambda m, x: m.cat([x, x], -1),
    "cat(x)": lambda m, x: m.cat(x),
    "stack(x, 1)": lambda m, x: m.stack(x, 1),
    "stack([x, x], 1)": lambda m, x: m.stack([x, x], 1),
    "split(x, 2, 1)": lambda m, x: m.split(x, 2, 1),
    "split(x, [1, 3], 0)": lambda m, x: m.split(x, [1, 3], 0),
    "x.split(3, 1)": lambda m, x: x.split(3, 1),
    "chunk(x, 2, 1)": lambda m, x: m.chunk(x, 2, 1),
    "x.chunk(3, 0)": lambda m, x: x.chunk(3, 0),
    "flip(x, (0, 1))": lambda m, x: m.flip(x, (0, 1)),
    "x.flip(1)": lambda m, x: x.flip(1),
    "x.flip(0, 1)": lambda m, x: x.flip(0, 1),
    "roll(x, 1, 0)": lambda m, x: m.roll(x, 1, 0),
    "roll(x, (1, 2), (0, 1))": lambda m, x: m.roll(x, (1, 2), (0, 1)),
    "roll(x, 3)": lambda m, x: m.roll(x, 3),
    "topk(x, 2, 1, False)": lambda m, x: m.topk(x, 2, 1, False),
    "topk(x, 3, 0, True, True)": lambda m, x: m.topk(x, 3, 0, True, True),
    "x.topk(2, 0, False)": lambda m, x: x.topk(2, 0, False),
    "topk(x, True)": lambda m, x: m.topk(x, True),
    "chunk(x, 2.0)": lambda m, x: m.chunk(x, 2.0),
    "x.size(1)": lambda m, x: x.size(1),
    "x.size(-2)": lambda m, x: x.size(-2),
    "x.size(True)": lambda m, x: x.size(True),
    "x.sum(tensor(1))": lambda m, x: x.sum(m.tensor(1)),
    "sort(x, 0, True)": lambda m, x: m.sort(x, 0, True),
    "x.sort(1)": lambda m, x: x.sort(1),
    "sort(x, True)": lambda m, x: m.sort(x, True),
    "sort(x, stable=True, dim=0)": lambda m, x: m.sort(x, stable=True, dim=0),
    "argsort(x, 1, True)": lambda m, x: m.argsort(x, 1, True),
    "narrow(x, 1, -2, 2)": lambda m, x: m.narrow(x, 1, -2, 2),
    "narrow(x, 1, 6, 1)": lambda m, x: m.narrow(x, 1, 6, 1),
    "narrow(x, 1, 5, 0)": lambda m, x: m.narrow(x, 1, 5, 0),
    "narrow(x, 1, 1, 5)": lambda m, x: m.narrow(x, 1, 1, 5),
    "narrow(x, 1, 0, -1)": lambda m, x: m.narrow(x, 1, 0, -1),
    "narrow(x, 1, 1.0, 1)": lambda m, x: m.narrow(x, 1, 1.0, 1),
    "select(x, 1, 5)": lambda m, x: m.select(x, 1, 5),
    "select(x, 1, -6)": lambda m, x: m.select(x, 1, -6),
    "select(x, 0, True)": lambda m, x: m.select(x, 0, True),
    "unbind(x)": lambda m, x: m.unbind(x),
    "repeat_interleave(x, 2)": lambda m, x: m.repeat_interleave(x, 2),
    "repeat_interleave(x, r, 0)": lambda m, x: m.repeat_interleave(x, m.tensor([1, 0, 2, 1]), 0),
    "repeat_interleave(x, r, 1)": lambda m, x: m.repeat_interleave(x, m.tensor([1, 2]), 1),
    "repeat_interleave(x, -1, 1)": lambda m, x: m.repeat_interleave(x, -1, 1),
    "repeat_interleave(x, 2.0, 1)": lambda m, x: m.repeat_interleave(x, 2.0, 1),
    "repeat_interleave(counts)": lambda m, x: m.repeat_interleave(m.tensor([1, 0, 3])),
    "topk(int8 with -128, 1)": lambda m, x: m.topk(m.tensor(np.array([-128, 5, 3], np.int8)), 1),
    "sort(int8 with -128, descending)": lambda m, x: m.sort(
        m.tensor(np.array([-128, 5, 127, 3], np.int8)), descending=True),
    "topk(x with NaN, 2)": lambda m, x: m.topk(m.where(x > 1, float("nan"), x), 2),
    "topk(x with NaN, 2, largest=False)": lambda m, x: m.topk(
        m.where(x > 1, float("nan"), x), 2, largest=False),
    "sort(x with NaN, 1, True)": lambda m, x: m.sort(m.where(x > 1, float("nan"), x), 1, True),
    "sort(x with NaN, 0)": lambda m, x: m.sort(m.where(x > 1, float("nan"), x), 0),
    # indexing
    "gather(x, 1, idx)": lambda m, x: m.gather(x, 1, m.tensor(IDX)),
    "x.gather(1, idx)": lambda m, x: x.gather(1, m.tensor(IDX)),
    "index_select(x, 1, i)": lambda m, x: m.index_select(x, 1, m.tensor([4, 0, 4])),
    "take_along_dim(x, idx, 1)": lambda m, x: m.take_along_dim(x, m.tensor(IDX), 1),
    "scatter_add(x, 1, idx, src)": lambda m, x: m.scatter_add(x, 1, m.tensor(IDX), x[:, :2]),
    "masked_fill(x, x > 0, 0.0)": lambda m, x: x.masked_fill(x > 0, 0.0),
    # nn.functional
    "F.softmax(x, 1)": lambda m, x: _F(m).softmax(x, 1),
    "F.softmax(x, 0, 3)": lambda m, x: _F(m).softmax(x, 0, 3),
    "F.log_softmax(x, 1)": lambda m, x: _F(m).log_softmax(x, 1),
    "F.log_softmax(x, -1, dtype=float64)": lambda m, x: _F(m).log_softmax(x, -1,
                                                                          dtype=m.float64),
    "F.softmin(x, 0)": lambda m, x: _F(m).softmin(x, 0),
    "F.dropout(x, 0.5, False)": lambda m, x: _F(m).dropout(x, 0.5, False),
    "F.dropout(x, 0.0)": lambda m, x: _F(m).dropout(x, 0.0),
    "F.pad(x, (1, 1), 'constant', 0)": lambda m, x: _F(m).pad(x, (1, 1), "constant", 0),
    "F.pad(x, (1, 2, 0, 1), 'constant', 2.5)": lambda m, x: _F(m).pad(x, (1, 2, 0, 1),
                                                                     "constant", 2.5),
    "F.linear(x, w, b)": lambda m, x: _F(m).linear(x, x[:3], x[0, :3]),
    "F.leaky_relu(x, 0.2)": lambda m, x: _F(m).leaky_relu(x, 0.2),
    "F.elu(x, 0.5)": lambda m, x: _F(m).elu(x, 0.5),
    "F.softplus(x, 2, 1)": lambda m, x: _F(m).softplus(x, 2, 1),
    "F.gelu(x, approximate='tanh')": lambda m, x: _F(m).gelu(x, approximate="tanh"),
    "F.cross_entropy(x, t)": lambda m, x: _F(m).cross_entropy(x, m.tensor(TARGET)),
    "F.cross_entropy(x, t, None, None, 0)": lambda m, x: _F(m).cross_entropy(
        x, m.tensor(TARGET), None, None, 0),
    "F.cross_entropy(x, t, w, None, -100, None, 'sum', 0.1)": lambda m, x: _F(m).cross_entropy(
        x, m.tensor(TARGET), m.abs(x[0]), None, -100, None, "sum", 0.1),
    "F.nll_loss(x, t, None, None, 2, None, 'sum')": lambda m, x: _F(m).nll_loss(
        x, m.tensor(TARGET), None, None, 2, None, "sum"),
    "F.mse_loss(x, y, None, None, 'sum')": lambda m, x: _F(m).mse_loss(x, x * 0.5, None, None,
                                                                      "sum"),
    "F.l1_loss(x, y, reduction='none')": lambda m, x: _F(m).l1_loss(x, x * 0.5,
                                                                    reduction="none"),
    "F.smooth_l1_loss(x, y, None, None, 'mean', 0.5)": lambda m, x: _F(m).smooth_l1_loss(
        x, x * 0.1, None, None, "mean", 0.5),
    "F.huber_loss(x, y, 'sum', 0.3)": lambda m, x: _F(m).huber_loss(x, x * 0.1, "sum", 0.3),
    "F.binary_cross_entropy_with_logits(x, y, None, None, None, 'sum')": lambda m, x: _F(
        m).binary_cross_entropy_with_logits(x, (x > 0).float(), None, None, None, "sum"),
    "F.layer_norm(x, (5,), None, None, 1e-3)": lambda m, x: _F(m).layer_norm(x, (5,), None,
                                                                             None, 1e-3),
    "F.one_hot(t, 6)": lambda m, x: _F(m).one_hot(m.tensor(TARGET), 6),
}


def _arrays(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _arrays(o)]
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    return [np.asarray(out.numpy() if hasattr(out, "numpy") else out)]


def _run(m, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(m, m.tensor(X))


@pytest.mark.parametrize("text", list(CALLS))
def test_positional_call_means_what_torch_says(text):
    call = CALLS[text]
    try:
        want = _arrays(_run(torch, call))
    except Exception as exc:  # noqa: BLE001 - torch's exception type is the oracle
        with pytest.raises(type(exc)):
            _run(cr, call)
        return
    got = _arrays(_run(cr, call))
    assert len(got) == len(want), f"{text}: {len(got)} results, torch gives {len(want)}"
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"{text}: shape {g.shape}, torch's {w.shape}"
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-5,
                                   atol=1e-6, equal_nan=True, err_msg=text)
