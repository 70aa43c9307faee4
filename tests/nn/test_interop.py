"""State dicts cross between chainrule and PyTorch: a chainrule model's weights loaded into the
same architecture in PyTorch give the same outputs, and the reverse (train and eval mode)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from tests.nn._compare import to_cr_state, to_torch_state

tnn = torch.nn


def mlp(m):
    return m.Sequential(m.Linear(6, 16), m.BatchNorm1d(16), m.ReLU(), m.Linear(16, 16),
                        m.LayerNorm(16), m.Tanh(), m.Linear(16, 3))


def cnn(m):
    return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                        m.MaxPool2d(2), m.Identity(), m.Flatten(),
                        m.Linear(4 * 4 * 4, 5))


def _compare_outputs(net, tnet, x: np.ndarray, dtype) -> None:
    for train in (True, False):
        net.train(train)
        tnet.train(train)
        y = net(cr.tensor(x))
        with torch.no_grad():
            yt = tnet(torch.tensor(x))
        rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-4, 1e-5)
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"train={train}")


ARCHS = [("mlp", mlp, (8, 6)), ("cnn", cnn, (3, 1, 8, 8))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name, build, shape", ARCHS, ids=[a[0] for a in ARCHS])
def test_chainrule_to_torch_and_back(dtype, name, build, shape):
    if name == "cnn" and not (hasattr(F, "conv2d") and hasattr(F, "max_pool2d")):
        pytest.skip("chainrule.nn.functional.conv2d/max_pool2d not available yet")
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    # chainrule → PyTorch: train a few BatchNorm steps first so running stats are non-trivial
    net = build(nn).to(dtype)
    for _ in range(3):
        net(cr.tensor(x * 1.5 + 0.3))
    tnet = build(tnn).to(tdtype)
    tnet.load_state_dict(to_torch_state(net.state_dict()))
    _compare_outputs(net, tnet, x, dtype)
    # PyTorch → chainrule
    tnet2 = build(tnn).to(tdtype)
    for _ in range(2):
        tnet2(torch.tensor(x) * 2 - 1)
    net2 = build(nn).to(dtype)
    result = net2.load_state_dict(to_cr_state(tnet2.state_dict()))
    assert result.missing_keys == [] and result.unexpected_keys == []
    _compare_outputs(net2, tnet2, x, dtype)


def test_torch_float32_checkpoint_into_float64_model_is_cast():
    tnet = mlp(tnn).float()
    net = mlp(nn).double()
    net.load_state_dict(tnet.state_dict())                # torch tensors directly
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].num_batches_tracked.dtype == np.int64
    x = np.random.default_rng(1).standard_normal((4, 6))
    net.eval()
    tnet.eval().double()
    with torch.no_grad():
        np.testing.assert_allclose(net(cr.tensor(x)).numpy(), tnet(torch.tensor(x)).numpy(),
                                   rtol=1e-10)
