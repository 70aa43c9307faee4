"""The BLAS thread policy (issue #17): chainrule.set_num_threads / get_num_threads, one thread
below the size threshold, the cached count, and GEMM results unchanged."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._blas import threads as T

needs_switch = pytest.mark.skipif(not T.blas_info()["per_gemm"],
                                  reason=f"no per-GEMM thread switch here ({T._backend.name})")


@pytest.fixture
def restore():
    """The thread count put back afterwards; the load-following part of the policy off, so
    another process on the machine cannot change the counts these tests expect."""
    before = cr.get_num_threads()
    T._load.set_dynamic(False)
    yield
    T._load.set_dynamic(True)
    cr.set_num_threads(before)


def _in_blas() -> int:
    """The count the BLAS itself reports (not chainrule's cache)."""
    return int(T._backend.get())


def test_round_trip_and_torch_untouched(restore):
    torch_before = torch.get_num_threads()
    for n in (1, 3, 2, np.int64(1)):
        cr.set_num_threads(n)
        assert cr.get_num_threads() == n and type(cr.get_num_threads()) is int
        if T._backend.get is not None:
            assert _in_blas() == n
    assert torch.get_num_threads() == torch_before


@pytest.mark.parametrize("bad, err, words", [(0, ValueError, "at least 1"),
                                             (-2, ValueError, "got -2"),
                                             (1.5, TypeError, "float"),
                                             (True, TypeError, "bool"),
                                             ("2", TypeError, "str")])
def test_bad_counts_are_refused(restore, bad, err, words):
    before = cr.get_num_threads()
    with pytest.raises(err, match="set_num_threads") as info:
        cr.set_num_threads(bad)
    assert words in str(info.value)
    assert cr.get_num_threads() == before


@needs_switch
@pytest.mark.parametrize("m, n, k", [(32, 256, 64), (128, 10, 512), (1, 1, 1), (0, 5, 5),
                                     (128, 512, 784), (2048, 2048, 1), (64, 256, 256)])
def test_threads_per_shape(restore, m, n, k):
    cr.set_num_threads(2)
    T.blas_threads_for(m, n, k)
    want = 1 if m * n * k < T.THRESHOLD else 2
    assert T.blas_info()["in_force"] == want and _in_blas() == want


@needs_switch
def test_ops_apply_the_policy(restore):
    cr.set_num_threads(2)
    small = cr.tensor(np.ones((32, 64), np.float32))
    F.linear(small, cr.tensor(np.ones((256, 64), np.float32)))
    assert _in_blas() == 1
    big = cr.tensor(np.ones((128, 784), np.float32))
    big @ cr.tensor(np.ones((784, 512), np.float32))
    assert _in_blas() == 2
    cr.tensor(np.ones(64, np.float32)) @ cr.tensor(np.ones((64, 8), np.float32))  # 1-D left
    assert _in_blas() == 1


@needs_switch
def test_the_blas_is_called_only_on_a_change(restore, monkeypatch):
    cr.set_num_threads(2)
    calls = []
    real = T._backend.set
    monkeypatch.setattr(T._backend, "set", lambda n: (calls.append(n), real(n)))
    for _ in range(3):
        T.blas_threads_for(8, 8, 8)
    for _ in range(3):
        T.blas_threads_for(512, 512, 512)
    T.blas_threads_for(8, 8, 8)
    assert calls == [1, 2, 1]


def test_unknown_blas_is_a_quiet_no_op(restore, monkeypatch):
    monkeypatch.setattr(T, "_backend", T._Backend("unknown", None, None, False))
    monkeypatch.setattr(T, "_threshold", 0)
    monkeypatch.setattr(T, "_current", 1)
    monkeypatch.setattr(T, "_big", 1)
    cr.set_num_threads(4)
    T.blas_threads_for(1, 1, 1)
    T.blas_threads_for(4096, 4096, 4096)
    info = T.blas_info()
    assert info["library"] == "unknown" and info["num_threads"] == 4 and info["in_force"] == 1


def test_info_names_the_library():
    info = T.blas_info()
    assert set(info) == {"library", "num_threads", "in_force", "threshold", "per_gemm"}
    if "openblas" in str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]).lower():
        assert "OpenBLAS" in info["library"] and info["per_gemm"]


@pytest.mark.parametrize("shape_x, shape_w", [((32, 64), (256, 64)), ((128, 784), (512, 784)),
                                              ((3, 50, 300), (400, 300)), ((5, 7), (3, 7))])
def test_results_equal_numpys(restore, shape_x, shape_w):
    """Forward and backward of linear and matmul: bit for bit NumPy's @ on the same arrays at
    the thread count the policy chose for the shape, and within float32 rounding of one
    thread's."""
    cr.set_num_threads(2)
    rng = np.random.default_rng(0)
    xa = rng.standard_normal(shape_x, dtype=np.float32)
    wa = rng.standard_normal(shape_w, dtype=np.float32)
    ga = rng.standard_normal(shape_x[:-1] + shape_w[:1], dtype=np.float32)
    mnk = xa.size * wa.shape[0]
    x, w = cr.tensor(xa, requires_grad=True), cr.tensor(wa, requires_grad=True)
    y = F.linear(x, w)
    y.backward(cr.tensor(ga))
    if T.blas_info()["per_gemm"]:
        assert _in_blas() == (1 if mnk < T.THRESHOLD else 2)
    want = {"y": xa @ wa.T, "gx": ga @ wa, "wt": wa.T.copy()}
    want["z"] = xa @ want["wt"]
    np.testing.assert_array_equal(y.numpy(), want["y"])
    np.testing.assert_array_equal(x.grad.numpy(), want["gx"])
    g2, x2 = ga.reshape(-1, ga.shape[-1]), xa.reshape(-1, xa.shape[-1])
    np.testing.assert_allclose(w.grad.numpy(), g2.T @ x2, rtol=1e-5, atol=1e-4)
    x, wt = cr.tensor(xa, requires_grad=True), cr.tensor(want["wt"], requires_grad=True)
    z = x @ wt
    z.backward(cr.tensor(ga))
    np.testing.assert_array_equal(z.numpy(), want["z"])
    np.testing.assert_array_equal(x.grad.numpy(), ga @ want["wt"].T)
    cr.set_num_threads(1)  # one thread: the same within float32 rounding
    tol = dict(rtol=1e-5, atol=2e-4 * np.sqrt(shape_x[-1]))
    np.testing.assert_allclose(y.numpy(), xa @ wa.T, **tol)
    np.testing.assert_allclose(z.numpy(), xa @ want["wt"], **tol)
