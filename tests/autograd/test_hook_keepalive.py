"""A hook registered on a non-leaf tensor runs even after that tensor's Python object is gone
(PyTorch keeps a tensor's hooks on its grad_fn), e.g. a layer output inside a model."""
import gc

import numpy as np
import torch

import chainrule as cr


def _run(lib, w_value, x_value, drop: bool):
    w = lib.tensor(w_value, requires_grad=True)
    seen = []
    h = lib.tensor(x_value) @ w
    h.register_hook(lambda g: seen.append(g.detach().clone()) or g * 2)
    loss = (h * 3.0).sum()       # multiplying by a constant keeps no reference to h
    if drop:
        del h
        gc.collect()
    loss.backward()
    return w.grad.numpy(), [s.numpy() for s in seen]


def test_hook_on_a_dropped_non_leaf_still_runs_as_in_torch():
    rng = np.random.default_rng(0)
    w_value, x_value = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    for drop in (False, True):
        ours, our_seen = _run(cr, w_value, x_value, drop)
        theirs, their_seen = _run(torch, w_value, x_value, drop)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
        assert len(our_seen) == len(their_seen) == 1
        np.testing.assert_allclose(our_seen[0], their_seen[0], rtol=1e-12)


def test_hooks_inside_a_model_keep_running_across_steps():
    calls = []
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))

    def forward(x):
        h = model[0](x)
        h.register_hook(lambda g: calls.append(1))
        return model[2](h * 0.5)        # neither op keeps h: it is gone when forward returns

    for _ in range(3):
        forward(cr.randn(2, 3)).sum().backward()
    assert len(calls) == 3
