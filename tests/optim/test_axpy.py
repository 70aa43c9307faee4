"""The one-pass ``y ← y + α·x`` behind the SGD update: BLAS path, NumPy fallback, and their use."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.optim as optim
from chainrule.optim import _axpy
from chainrule.optim._axpy import (MIN_BLAS_SIZE, axpby_, axpy_, blas_axpy_available,
                                   set_blas_axpy)

#: rows of 3: sizes on both sides of MIN_BLAS_SIZE (the NumPy path below, BLAS above)
_SIZES = [0, 1, 7, 100, MIN_BLAS_SIZE // 3, MIN_BLAS_SIZE // 3 + 1, 9000]


@pytest.fixture(params=[True, False], ids=["blas", "numpy"])
def path(request):
    previous = set_blas_axpy(request.param)
    yield request.param
    set_blas_axpy(previous)


def _reference(y, alpha, x):
    """y + α·x computed in float64 (exact product for float32 inputs), then rounded to y's dtype."""
    return (y.astype(np.longdouble) + np.longdouble(y.dtype.type(alpha)) * x).astype(y.dtype)


def _close(got, y, alpha, x):
    """Within a rounding or two of y + α·x: |error| <= 2ε(|y| + |α·x|) (cancellation allowed)."""
    scale = np.abs(y.astype(np.float64)) + np.abs(alpha * x.astype(np.float64))
    return np.all(np.abs(got - _reference(y, alpha, x)) <= 2 * np.finfo(y.dtype).eps * scale)


def test_bundled_openblas_is_found_when_numpy_ships_one():
    if not _axpy._bundled_openblas_paths():
        pytest.skip("this NumPy bundles no OpenBLAS (MKL, Accelerate or a system BLAS): the "
                    "NumPy fallback is the only path")
    assert {dtype for _, dtype in _axpy._routines} == {np.dtype(np.float32), np.dtype(np.float64)}
    assert blas_axpy_available()
    previous = set_blas_axpy(False)
    assert not blas_axpy_available()
    set_blas_axpy(previous)


@settings(max_examples=40, deadline=None)
@given(n=st.sampled_from(_SIZES), alpha=st.floats(-3, 3, allow_nan=False),
       dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(["C", "F", "strided"]))
def test_axpy_is_y_plus_alpha_x_on_both_paths(n, alpha, dtype, layout):
    rng = np.random.default_rng(n)
    y0 = rng.standard_normal((n, 3)).astype(dtype)
    x = rng.standard_normal((n, 3)).astype(dtype)
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        x = np.repeat(x, 2, axis=0)[::2]
    for enabled in (True, False):
        previous = set_blas_axpy(enabled)
        try:
            for scratch in (None, np.empty_like(y0)):
                y = y0.copy()
                axpy_(y, alpha, x, scratch)
                assert y.dtype == dtype
                assert _close(y, y0, alpha, x), (enabled, scratch is None)
        finally:
            set_blas_axpy(previous)


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from(_SIZES), alpha=st.floats(-3, 3, allow_nan=False),
       beta=st.floats(0, 1), dtype=st.sampled_from([np.float32, np.float64]),
       transposed=st.booleans())
def test_axpby_is_alpha_x_plus_beta_y_on_both_paths(n, alpha, beta, dtype, transposed):
    rng = np.random.default_rng(n + 1)
    y0 = rng.standard_normal((n, 3)).astype(dtype)
    x = rng.standard_normal((3, n)).astype(dtype).T if transposed else \
        rng.standard_normal((n, 3)).astype(dtype)
    by = (y0.astype(np.float64) * y0.dtype.type(beta)).astype(dtype)   # β·y, rounded once
    for enabled in (True, False):
        previous = set_blas_axpy(enabled)
        try:
            y = y0.copy()
            axpby_(y, alpha, x, beta)
            assert y.dtype == dtype
            assert _close(y, by, alpha, x), enabled
        finally:
            set_blas_axpy(previous)


def test_blas_path_rounds_once_like_torch_add_alpha():
    """Away from OpenBLAS's remainder loop (the last n mod 32 elements of each thread's share),
    the BLAS path is one fused multiply-add, as torch's ``add_(x, alpha=α)``; NumPy's fallback
    rounds the product first and differs in the last bit on many elements."""
    torch = pytest.importorskip("torch")
    if not blas_axpy_available():
        pytest.skip("no bundled OpenBLAS: only the NumPy fallback exists here")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16384).astype(np.float32)
    y0 = rng.standard_normal(16384).astype(np.float32)
    want = torch.tensor(y0).add_(torch.tensor(x), alpha=-0.037).numpy()
    y = y0.copy()
    axpy_(y, -0.037, x)
    assert np.count_nonzero(y != want) <= 32
    previous = set_blas_axpy(False)
    try:
        z = y0.copy()
        axpy_(z, -0.037, x)
    finally:
        set_blas_axpy(previous)
    assert np.count_nonzero(z != want) > 400        # the check above can tell the two apart


def test_overlapping_and_unsuitable_arrays_fall_back_correctly(path):
    n = 2 * MIN_BLAS_SIZE                            # large enough for the BLAS path
    base = np.arange(n + 10, dtype=np.float32)
    y, x = base[2:n + 2], base[0:n]                  # x overlaps y
    want = y + 0.5 * x
    axpy_(y, 0.5, x)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    y = np.ones((n, 4), np.float32)[:, ::2]          # y not contiguous
    axpy_(y, 2.0, np.ones((n, 2), np.float32))
    assert np.all(y == 3.0)
    x = np.full(n, 2.0, np.float32)
    x.flags.writeable = False                        # read-only x: its address taken otherwise
    y = np.ones(n, np.float32)
    axpy_(y, 0.5, x)
    assert np.all(y == 2.0)
    y = np.ones(n, np.float32)
    strided = np.ones(2 * n, np.float32)[::2]
    axpy_(y, np.float32(2), strided, scratch=np.empty(3, np.float32))
    assert np.all(y == 3.0)                          # a NumPy scalar α; a wrong-sized scratch
    axpby_(y, np.float64(1), strided, np.float32(0.5), scratch=np.empty(n, np.float64))
    assert np.all(y == 2.5)                          # ... and one of the wrong dtype, ignored
    y64 = np.ones(n)
    axpy_(y64, 2.0, np.ones(n, np.float32))          # mixed dtypes keep y's dtype
    assert y64.dtype == np.float64 and np.all(y64 == 3.0)


@pytest.mark.parametrize("kwargs", [dict(momentum=0.0), dict(momentum=0.9),
                                    dict(momentum=0.9, nesterov=True),
                                    dict(momentum=0.9, dampening=0.3, weight_decay=0.1,
                                         maximize=True)],
                         ids=["plain", "momentum", "nesterov", "dampening_wd_max"])
def test_sgd_fast_path_matches_reference_path(kwargs):
    """The same five SGD steps with the BLAS path and with the NumPy fallback: float32 results
    within rounding, and on a transposed (F-ordered) gradient as well."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((300, 40)).astype(np.float32)          # above MIN_BLAS_SIZE
    grads = [rng.standard_normal((40, 300)).astype(np.float32).T for _ in range(5)]
    finals = []
    for enabled in (True, False):
        previous = set_blas_axpy(enabled)
        try:
            p = cr.tensor(w0.copy(), requires_grad=True)
            opt = optim.SGD([p], lr=0.05, **kwargs)
            for g in grads:
                p.grad = cr.tensor(g)
                opt.step()
            finals.append(p.numpy().copy())
        finally:
            set_blas_axpy(previous)
    assert finals[0].dtype == np.float32
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-5, atol=1e-6)
    assert np.max(np.abs(finals[0] - w0)) > 1e-2
