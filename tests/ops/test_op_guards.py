"""Edge cases where a backward rule's mistake hides from random inputs: values exactly at a
clamp bound, ties in max/min and maximum/minimum, batched matmul (a transpose of the wrong axes),
broadcasting over leading and inner axes at once. Each is compared with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr


def _grads(f_cr, f_t, *arrays):
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = f_cr(*xs), f_t(*ts)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(arrays[0].dtype)
    (y * cr.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


AT_BOUNDS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


@pytest.mark.parametrize("lo,hi", [(-0.5, 1.0), (-0.5, None), (None, 0.5)])
def test_clamp_passes_the_gradient_at_exactly_the_bounds_as_torch(lo, hi):
    _grads(lambda x: x.clamp(lo, hi), lambda x: x.clamp(lo, hi), AT_BOUNDS)


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_split_the_gradient_evenly_over_ties_as_torch(name):
    x = np.array([[3.0, 1.0, 3.0, 3.0], [-2.0, -2.0, 5.0, 0.0]])
    _grads(lambda t: getattr(t, name)(dim=1), lambda t: getattr(t, name)(dim=1), x)
    _grads(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_split_ties_in_half_as_torch(name):
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, 4.0])
    _grads(getattr(cr, name), getattr(torch, name), a, b)


def test_batched_matmul_gradients_transpose_only_the_last_two_axes():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    _grads(lambda x, y: x @ y, lambda x, y: x @ y, a, b)
    _grads(lambda x, y: x @ y, lambda x, y: x @ y, a, rng.standard_normal((4, 4)))


def test_broadcast_gradient_sums_over_leading_and_inner_axes():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1))
    _grads(lambda x, y: x * y, lambda x, y: x * y, a, b)
    _grads(lambda x, y: x - y, lambda x, y: x - y, a, rng.standard_normal((1, 4)))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_zero_factors_matches_torch(dim):
    """One zero: only the zero's gradient is the product of the others; two zeros: all zero."""
    x = np.array([[2.0, 0.0, 3.0, -1.5], [0.0, 4.0, 0.0, 0.5], [1.5, -2.0, 0.5, 3.0]])
    if dim is None:
        _grads(lambda t: t.prod(), lambda t: t.prod(), x)
        _grads(lambda t: t.prod(), lambda t: t.prod(), x[0])
    else:
        _grads(lambda t: t.prod(dim=dim), lambda t: t.prod(dim=dim), x)
