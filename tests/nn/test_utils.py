"""nn.utils: clip_grad_norm_ and clip_grad_value_ equal torch's; parameters <-> vector."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                                vector_to_parameters)


def _params_with_grads(dtype, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    ps = [nn.Parameter(cr.zeros(*s, dtype=dtype)) for s in shapes]
    ts = [torch.zeros(s, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
          for s in shapes]
    for p, t, g in zip(ps, ts, grads):
        p.grad = cr.tensor(g.copy())
        t.grad = torch.tensor(g.copy())
    extra = nn.Parameter(cr.zeros(2, dtype=dtype))      # no gradient: skipped
    return ps + [extra], ts


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    ps, ts = _params_with_grads(dtype)
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert total.dtype == dtype and total.shape == ()
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=rtol)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-7)
        assert p.grad.dtype == dtype
    if max_norm < float(total):                          # clipped to max_norm (up to the 1e-6)
        new = clip_grad_norm_(ps, 1e9, norm_type=norm_type)
        assert float(new) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_single_tensor_nonfinite_and_empty():
    p = nn.Parameter(cr.zeros(3))
    p.grad = cr.tensor([3.0, 4.0, 0.0])
    assert float(clip_grad_norm_(p, 1.0)) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    p.grad = cr.tensor([np.nan, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert float(clip_grad_norm_([nn.Parameter(cr.zeros(2))], 1.0)) == 0.0


def test_clip_grad_value_matches_torch():
    ps, ts = _params_with_grads(np.float32, scale=3.0)
    clip_grad_value_(ps, 1.5)
    torch.nn.utils.clip_grad_value_(ts, 1.5)
    for p, t in zip(ps, ts):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
    assert max(float(np.abs(p.grad.numpy()).max()) for p in ps[:3]) == 1.5


def test_parameters_vector_round_trip():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(net.parameters())
    assert vec.shape == (11,) and vec.requires_grad        # differentiable, as in PyTorch
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    tnet.load_state_dict({k: torch.tensor(v.numpy()) for k, v in net.state_dict().items()})
    np.testing.assert_array_equal(
        vec.numpy(), torch.nn.utils.parameters_to_vector(tnet.parameters()).detach().numpy())
    (vec * cr.arange(11).float()).sum().backward()
    np.testing.assert_array_equal(net[0].weight.grad.numpy().reshape(-1), np.arange(6))
    new = cr.arange(11).float() * 0.5
    vector_to_parameters(new, net.parameters())
    np.testing.assert_array_equal(net[1].bias.numpy(), [5.0])
    np.testing.assert_array_equal(net[0].bias.numpy(), [3.0, 3.5])
    with pytest.raises(ValueError, match="11"):
        vector_to_parameters(cr.zeros(5), net.parameters())
