"""Helpers for comparing chainrule layers with PyTorch's: copy weights through state_dict, run
both on the same input, and compare outputs, input gradients, parameter gradients and buffers."""
from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def to_torch_state(state: dict) -> dict:
    return {k: torch.tensor(np.array(v.numpy())) for k, v in state.items()}


def to_cr_state(state: dict) -> dict:
    return {k: cr.tensor(v.detach().numpy().copy()) for k, v in state.items()}


def tol(dtype) -> dict:
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)


def close(a, b, dtype, what: str) -> None:
    a = np.asarray(a.numpy() if isinstance(a, cr.Tensor) else a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    if a.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, err_msg=what, **tol(dtype))


def run_both(layer, tlayer, x: np.ndarray, *, seed: int = 0, grad_input: bool = True):
    """One forward and backward (of a random weighting of the output) through each library.
    Returns (output, torch output, input grad, torch input grad)."""
    diff = grad_input and x.dtype.kind == "f"
    xc = cr.tensor(x, requires_grad=diff)
    xt = torch.tensor(x, requires_grad=diff)
    y, yt = layer(xc), tlayer(xt)
    w = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    name = type(layer).__name__
    assert y.requires_grad == yt.requires_grad, (
        f"{name} output requires_grad={y.requires_grad}, torch's {yt.requires_grad}: "
        + ("chainrule's output is cut from the graph" if yt.requires_grad else
           "chainrule's output requires grad where torch's does not"))
    if yt.requires_grad:
        (y * cr.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
    return y, yt, xc.grad if diff else None, xt.grad if diff else None


def check_layer(layer, tlayer, x: np.ndarray, *, train: bool | None = None, steps: int = 1,
                seed: int = 0, dtype=None) -> None:
    """Copy ``layer``'s weights into ``tlayer`` (through state_dict), then for ``steps``
    batches compare outputs, gradients and buffers, in the mode given by ``train`` (None: in
    training mode, then again in evaluation mode). The layers are cast to ``dtype`` (the
    input's dtype unless given)."""
    if train is None:
        for mode in (True, False):
            check_layer(layer, tlayer, x, train=mode, steps=steps, seed=seed, dtype=dtype)
        return
    dtype = np.dtype(dtype or x.dtype)
    layer.to(dtype)
    tlayer.to(torch.float64 if dtype == np.float64 else torch.float32)
    tlayer.load_state_dict(to_torch_state(layer.state_dict()))
    layer.train(train)
    tlayer.train(train)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        xs = x if step == 0 else (x + rng.standard_normal(x.shape)).astype(dtype) \
            if x.dtype.kind == "f" else x
        layer.zero_grad()
        tlayer.zero_grad()
        y, yt, gx, gxt = run_both(layer, tlayer, xs, seed=step)
        close(y, yt, dtype, f"{type(layer).__name__} output (step {step})")
        assert y.dtype == dtype, f"{type(layer).__name__} output dtype {y.dtype}, not {dtype}"
        if gx is not None:
            assert gx.dtype == dtype, f"{type(layer).__name__} input gradient dtype {gx.dtype}"
            close(gx, gxt, dtype, f"{type(layer).__name__} input gradient")
        tparams = dict(tlayer.named_parameters())
        for name, p in layer.named_parameters():
            assert (p.grad is None) == (tparams[name].grad is None), name
            if p.grad is not None:
                assert p.grad.dtype == dtype, f"{name} gradient dtype {p.grad.dtype}"
                close(p.grad, tparams[name].grad, dtype, f"{type(layer).__name__}.{name}.grad")
        tbufs = dict(tlayer.named_buffers())
        for name, b in layer.named_buffers():
            close(b, tbufs[name], dtype, f"{type(layer).__name__} buffer {name}")
