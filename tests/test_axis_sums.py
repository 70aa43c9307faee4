"""chainrule.axis_sums (the grouped sums over (0, 2, 3) and the like) and the ops built on it, on
arrays big enough to take the fast route: against float64 NumPy and against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import axis_sums as S

RNG = np.random.default_rng(17)
BIG = (64, 6, 12, 12)           # 55,296 elements: above axis_sums' size threshold


def _array(shape, dtype=np.float32, offset=1.0):
    return (RNG.standard_normal(shape) + offset).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axes", [
    (BIG, (0, 2, 3)), (BIG, (0, 2)), (BIG, (0, 3)), (BIG, (0, 1, 3)), ((32, 16, 40), (0, 2)),
    (BIG, (0,)), (BIG, (2, 3)), (BIG, (0, 1, 2, 3)), (BIG, (3, 0, 2)),
])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_over_match_float64(dtype, shape, axes, keepdims):
    x = _array(shape, dtype)
    assert x.size >= S._MIN_SIZE
    want = np.sum(x.astype(np.float64), axis=axes, keepdims=keepdims)
    got = S.sum_over(x, axes, keepdims)
    assert got.shape == want.shape and got.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got, want, rtol=rtol)
    mean = S.mean_over(x, axes, keepdims)
    assert mean.dtype == dtype
    np.testing.assert_allclose(mean, np.mean(x.astype(np.float64), axis=axes,
                                              keepdims=keepdims), rtol=rtol)


def test_sum_over_falls_back_for_other_inputs():
    x16 = _array(BIG, np.float16)
    np.testing.assert_array_equal(S.sum_over(x16, (0, 2, 3)), np.sum(x16, axis=(0, 2, 3)))
    xi = RNG.integers(0, 5, BIG)
    got = S.sum_over(xi, (0, 2, 3))
    np.testing.assert_array_equal(got, xi.sum(axis=(0, 2, 3)))
    assert got.dtype == xi.sum(axis=(0, 2, 3)).dtype
    small = _array((2, 3, 4, 5))
    np.testing.assert_array_equal(S.sum_over(small, (0, 2, 3)), small.sum(axis=(0, 2, 3)))
    with pytest.raises(ValueError):              # a repeated axis: NumPy's error, not a result
        S.sum_over(_array(BIG), (0, 0, 2))


@pytest.mark.parametrize("shape, target", [
    (BIG, (1, 6, 1, 1)), (BIG, (6, 1, 1)), ((128, 120), (120,)), ((128, 84), (1, 84)),
    ((3, 4, 5), (4, 1)), (BIG, (1, 1, 1, 1)), (BIG, ()), (BIG, (1, 6, 12, 1)),
])
def test_sum_of_products_to_shape(shape, target):
    a, b = _array(shape), _array(shape, offset=0.5)
    want = S.sum_to_shape(a.astype(np.float64) * b, target)
    got = S.sum_of_products_to_shape(a, b, target)
    assert got.shape == tuple(target)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    strided = a[:, :, ::-1] if a.ndim > 2 else a.T.T[::-1]      # not C-contiguous: the fallback
    np.testing.assert_allclose(S.sum_of_products_to_shape(strided, b, target),
                               S.sum_to_shape(strided.astype(np.float64) * b, target),
                               rtol=1e-5, atol=1e-5 * np.abs(want).max())


def _both(x, fn_cr, fn_torch, seed=0):
    """Forward and backward (random weighting) through chainrule and PyTorch."""
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = fn_cr(xc), fn_torch(xt)
    w = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(x.dtype)
    (y * cr.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    return y.detach().numpy(), yt.detach().numpy(), xc.grad.numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_textbook_batch_norm_from_tensor_ops_matches_torch(dtype):
    """mean/var over (0, 2, 3), keepdim; the broadcasting backward of −, ** 2 and ÷ (the sums
    formed on the small operand's shape) and of γ·x̂ + β, as bench/textbook.py writes it."""
    x = _array(BIG, dtype, offset=0.3) * 2
    gamma = _array((1, 6, 1, 1), dtype)
    beta = _array((1, 6, 1, 1), dtype)

    def make(lib):
        g = (cr if lib is cr else torch).tensor(gamma, requires_grad=True)
        b = (cr if lib is cr else torch).tensor(beta, requires_grad=True)

        def f(x):
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            return g * ((x - mean) / lib.sqrt(var + 1e-5)) + b
        return f, g, b
    fc, gc, bc = make(cr)
    ft, gt, bt = make(torch)
    y, yt, gx, gxt = _both(x, fc, ft)
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, yt, **tol)
    np.testing.assert_allclose(gx, gxt, **tol)
    np.testing.assert_allclose(gc.grad.numpy(), gt.grad.numpy(), **tol)
    np.testing.assert_allclose(bc.grad.numpy(), bt.grad.numpy(), **tol)


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_big_multi_axis_reductions_match_torch(op):
    x = _array(BIG, np.float64)
    for dims, keep in (((0, 2, 3), True), ((0, 2, 3), False), ((0, 3), False), ((0, 1), True)):
        y, yt, gx, gxt = _both(x, lambda t: getattr(t, op)(dim=dims, keepdim=keep),
                               lambda t: getattr(t, op)(dim=dims, keepdim=keep))
        np.testing.assert_allclose(y, yt, rtol=1e-12)
        np.testing.assert_allclose(gx, gxt, rtol=1e-12)


def test_big_broadcast_gradients_match_torch():
    """The engine's sum-to-shape over (0, 2, 3) for a (1, C, 1, 1) operand, − and ÷ both ways."""
    x = _array(BIG, np.float64)
    c = _array((1, 6, 1, 1), np.float64, offset=2.0)
    for f in (lambda a, b: a - b, lambda a, b: b - a, lambda a, b: a / b, lambda a, b: b / a,
              lambda a, b: a * b + b, lambda a, b: a ** 2 * b):
        xc, cc = cr.tensor(x, requires_grad=True), cr.tensor(c, requires_grad=True)
        xt, ct = torch.tensor(x, requires_grad=True), torch.tensor(c, requires_grad=True)
        f(xc, cc).sum().backward()
        f(xt, ct).sum().backward()
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(cc.grad.numpy(), ct.grad.numpy(), rtol=1e-10)


def test_big_avg_pool_matches_torch():
    x = _array((32, 6, 24, 24), np.float32)
    y, yt, gx, gxt = _both(x, lambda t: cr.nn.functional.avg_pool2d(t, 2, 2),
                           lambda t: torch.nn.functional.avg_pool2d(t, 2, 2))
    np.testing.assert_allclose(y, yt, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(gx, gxt)           # the spread is exact: g/4 repeated
    y, yt, gx, gxt = _both(x[:, :, :23, :23], lambda t: cr.nn.functional.avg_pool2d(t, 2, 2),
                           lambda t: torch.nn.functional.avg_pool2d(t, 2, 2))
    np.testing.assert_array_equal(gx, gxt)           # odd size: the last row/column gets 0
