"""ReLU's float32 fast path (maximum against a row of zeros) against the plain ``maximum(x, 0)``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.ops.unary import relu_array


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 40), dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(["C", "T", "odd"]))
def test_relu_array_equals_maximum_with_zero(rows, dtype, layout):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 256)).astype(dtype)
    if rows:
        x.flat[:4] = [np.nan, -0.0, -np.inf, np.inf][: x.size]
    if layout == "T":
        x = x.T                                      # not C-contiguous: the plain path
    elif layout == "odd":
        x = x.reshape(-1)[: max(x.size - 3, 0)]       # size not a multiple of 256
    got = relu_array(x)
    want = np.maximum(x, 0)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)          # NaN where NaN, +0 for −0
    assert not np.any(np.signbit(got[~np.isnan(got)]))


def test_relu_op_on_fast_path_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 16, 4, 4)).astype(np.float32)   # 16,384 elements: fast path
    g = rng.standard_normal(a.shape).astype(np.float32)
    x = cr.tensor(a, requires_grad=True)
    y = cr.relu(x)
    y.backward(cr.tensor(g))
    tx = torch.tensor(a, requires_grad=True)
    ty = torch.relu(tx)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
