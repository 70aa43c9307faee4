"""Max pooling on oneDNN (the ``onednn`` extra) against chainrule's NumPy path and PyTorch:
random 1-D and 2-D shapes with padding, dilation, ceil mode and ties, the indices, NaN, and two layers of
one configuration."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._onednn import library as Lib
from chainrule._onednn import pool as DP
from chainrule.ops import pool as P

needs = pytest.mark.skipif(
    Lib.find() is None, reason="oneDNN is not usable here: " + (
        Lib.load_error or "onednn-cpu-gomp is not installed (the onednn extra; dev installs it)"))

POOL = {1: F.max_pool1d, 2: F.max_pool2d}


def _run(x, nd, kw, g, onednn: bool, monkeypatch):
    """(z, indices, ∂L/∂x) with oneDNN on or off; checks which path ran."""
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", onednn)
    t = cr.tensor(x, requires_grad=True)
    z, idx = POOL[nd](t, return_indices=True, **kw)
    node = z.grad_fn
    while node is not None and not isinstance(node, P.MaxPool):   # past any reshape
        node = node.inputs[0].grad_fn if getattr(node, "inputs", None) else None
    if node is not None:
        assert (node._dnnl is not None) == onednn
    if g is None:
        return z.numpy(), idx.numpy(), None
    z.backward(cr.tensor(g))
    return z.numpy(), idx.numpy(), t.grad.numpy()


@st.composite
def pool_cases(draw):
    nd = draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.integers(0, k // 2))
    ceil = draw(st.booleans())
    reach = dilation * (k - 1) + 1
    size = tuple(draw(st.integers(max(1, reach - 2 * padding), 8)) for _ in range(nd))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 5))) + size
    return nd, shape, dict(kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                           ceil_mode=ceil)


@needs
@given(pool_cases(), st.booleans())
@settings(max_examples=60, deadline=None)
def test_onednn_equals_the_numpy_path(case, ties):
    """Maxima and PyTorch's indices agree exactly, ties (a ReLU's zeros) included, and so does
    ∂L/∂x where windows do not overlap; where they do, an element's gradient is a sum that the
    two paths add in different orders (float32 rounding)."""
    nd, shape, kw = case
    rng = np.random.default_rng(abs(hash((case[1], ties))) % 2**32)
    x = rng.standard_normal(shape).astype(np.float32)
    if ties:
        x = np.maximum(x, 0) * (rng.random(shape) < 0.7)
    with pytest.MonkeyPatch.context() as mp:
        z = _run(x, nd, kw, None, False, mp)[0]
        g = rng.standard_normal(z.shape).astype(np.float32)
        fast = _run(x, nd, kw, g, True, mp)
        ref = _run(x, nd, kw, g, False, mp)
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_array_equal(fast[1], ref[1])
    if kw["stride"] >= kw["dilation"] * (kw["kernel_size"] - 1) + 1:
        np.testing.assert_array_equal(fast[2], ref[2])
    else:
        np.testing.assert_allclose(fast[2], ref[2], rtol=1e-6, atol=1e-6)


@needs
def test_ties_and_gradients_match_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((4, 6, 12, 12)), 0).astype(np.float32)
    x[:, :, :4] = 0.0                                           # whole windows of ties
    g = rng.standard_normal((4, 6, 6, 6)).astype(np.float32)
    z, idx, gx = _run(x, 2, dict(kernel_size=2, stride=2), g, True, monkeypatch)
    xt = torch.tensor(x, requires_grad=True)
    zt, it = torch.nn.functional.max_pool2d(xt, 2, return_indices=True)
    zt.backward(torch.tensor(g))
    np.testing.assert_array_equal(z, zt.detach().numpy())
    np.testing.assert_array_equal(idx, it.numpy())
    np.testing.assert_array_equal(gx, xt.grad.numpy())


@needs
def test_nan_takes_the_numpy_path_and_propagates(monkeypatch):
    x = np.ones((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", True)
    assert DP.plan_for(x, (1, 1, 2, 2), (2, 2), (2, 2), (1, 1), ((0, 0), (0, 0))) is None
    z = F.max_pool2d(cr.tensor(x), 2).numpy()
    assert np.isnan(z[0, 0, 0, 0]) and (z.reshape(-1)[1:] == 1).all()


@needs
def test_two_pools_of_one_configuration_keep_their_own_maxima(monkeypatch):
    """One plan, two nodes: each backward uses the workspace its own forward wrote."""
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(2))
    grads = []
    for on in (True, False):
        monkeypatch.setattr(cr.backends.mkldnn, "enabled", on)
        ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
        (F.max_pool2d(ta, 2) * 2 + F.max_pool2d(tb, 2) * 3).sum().backward()
        grads.append((ta.grad.numpy(), tb.grad.numpy()))
    for got, want in zip(*grads):
        np.testing.assert_array_equal(got, want)


@needs
def test_float64_and_the_switch_keep_numpy(monkeypatch):
    x = np.ones((1, 2, 4, 4))
    args = ((1, 2, 2, 2), (2, 2), (2, 2), (1, 1), ((0, 0), (0, 0)))
    assert DP.plan_for(x, *args) is None
    assert DP.plan_for(x.astype(np.float32), *args) is not None
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", False)
    assert DP.plan_for(x.astype(np.float32), *args) is None
