"""Audit a whole training step for stray float64: every tensor the graph touches, every array
an op saves for backward, every gradient and every optimizer state must be float32."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import optim


def _graph_arrays(root):
    """Every array reachable from ``root``'s graph: op inputs, saved values, outputs."""
    seen, stack, found = set(), [root.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        for t in node.inputs:
            if isinstance(t, cr.Tensor):
                found.append((type(node).__name__, "input", t.numpy()))
                stack.append(t.grad_fn)
            elif hasattr(t, "dtype"):
                found.append((type(node).__name__, "constant", t))
        for s in node.saved or ():
            if hasattr(s, "dtype"):
                found.append((type(node).__name__, "saved", s))
    return found


def _model():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding="same"), nn.GELU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(6 * 2 * 2, 16), nn.LayerNorm(16), nn.Tanh(), nn.Dropout(0.3),
        nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3))


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop,
                                     optim.Adagrad, optim.Adadelta, optim.NAdam])
def test_training_step_stays_float32(opt_cls):
    cr.manual_seed(0)
    model = _model()
    kwargs = {"lr": 0.01}
    if opt_cls is optim.SGD:
        kwargs.update(momentum=0.9, nesterov=True, weight_decay=1e-4)
    opt = opt_cls(model.parameters(), **kwargs)
    x = cr.randn(5, 1, 8, 8)
    y = cr.randint(0, 3, (5,))
    for _ in range(2):
        opt.zero_grad()
        out = model(x)
        loss = (F.cross_entropy(out, y, label_smoothing=0.1) + 0.5 * F.mse_loss(out.softmax(1),
                F.one_hot(y, 3).float()) + 1e-3 * sum((p * p).sum() for p in model.parameters()))
        assert loss.dtype == np.float32
        bad = [(op, kind, a.dtype) for op, kind, a in _graph_arrays(loss)
               if a.dtype.kind == "f" and a.dtype != np.float32]
        assert not bad, f"float64 in the graph: {bad[:5]}"
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    for name, p in model.named_parameters():
        assert p.dtype == np.float32, name
        assert p.grad.dtype == np.float32, f"grad of {name}"
    for name, b in model.named_buffers():
        assert b.dtype in (np.float32, np.int64), name
    for state in opt.state.values():
        for key, v in state.items():
            arr = getattr(v, "data", v)
            if isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
                assert arr.dtype == np.float32, f"{opt_cls.__name__} state {key}"
