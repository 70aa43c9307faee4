"""Intra-op parallelism over the batch (issue #17): ``split_batch``'s ranges, threads, errors,
nesting and forks, and convolution and max pooling split over threads against the same ops run
serially and against PyTorch."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._blas import intraop as I
from chainrule._blas import threads as T

needs_switch = pytest.mark.skipif(not T.switchable(),
                                  reason=f"no per-call BLAS thread switch here ({T._backend.name})")


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads allowed, every op big enough to split; counts the splits that happen."""
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    T._load.set_dynamic(False)          # a busy machine must not make these run serially
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", False)   # the NumPy path's splits
    monkeypatch.setattr(I, "GRAIN", 1)
    seen = []
    real = I.ranges
    monkeypatch.setattr(I, "ranges", lambda n, parts: seen.append((n, parts)) or real(n, parts))
    yield seen
    T._load.set_dynamic(True)
    cr.set_num_threads(before)


@given(st.integers(0, 300), st.integers(1, 9))
@settings(max_examples=60, deadline=None)
def test_ranges_cover_in_order_and_balance(n, parts):
    spans = I.ranges(n, parts)
    assert len(spans) == parts and spans[0][0] == 0 and spans[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    sizes = [hi - lo for lo, hi in spans]
    assert max(sizes) - min(sizes) <= 1


@needs_switch
def test_split_runs_ranges_on_two_threads_with_one_blas_thread_each(two_threads):
    seen = {}

    def fn(lo, hi):
        seen[(lo, hi)] = (threading.get_ident(), T.big_threads())

    I.split_batch(10, 10_000, fn)
    assert sorted(seen) == [(0, 5), (5, 10)]
    assert len({ident for ident, _ in seen.values()}) == 2
    assert all(b == 1 for _, b in seen.values())
    assert T.big_threads() == 2            # restored afterwards
    assert two_threads == [(10, 2)]


def test_one_thread_or_small_work_runs_once_on_the_caller(monkeypatch):
    before = cr.get_num_threads()
    calls = []
    monkeypatch.setattr(T._load, "_dynamic", False)
    try:
        cr.set_num_threads(1)
        I.split_batch(64, 1 << 30, lambda lo, hi: calls.append((lo, hi, threading.get_ident())))
        cr.set_num_threads(2)
        I.split_batch(64, I.GRAIN, lambda lo, hi: calls.append((lo, hi, threading.get_ident())))
        I.split_batch(1, 1 << 30, lambda lo, hi: calls.append((lo, hi, threading.get_ident())))
    finally:
        cr.set_num_threads(before)
    me = threading.get_ident()
    assert calls == [(0, 64, me), (0, 64, me), (0, 1, me)]


@needs_switch
@pytest.mark.parametrize("where", ["caller", "worker"])
def test_an_error_in_a_range_is_raised_after_every_range_finished(two_threads, where):
    done = []

    def fn(lo, hi):
        if (lo == 0) == (where == "caller"):
            raise ValueError(f"range {lo}:{hi} failed")
        done.append((lo, hi))

    with pytest.raises(ValueError, match="failed"):
        I.split_batch(8, 10_000, fn)
    assert len(done) == 1
    assert T.big_threads() == cr.get_num_threads() == 2      # the pin is released
    I.split_batch(8, 10_000, lambda lo, hi: done.append((lo, hi)))   # and the lock
    assert len(done) == 3


@needs_switch
def test_a_split_inside_a_split_runs_serially(two_threads):
    inner = []

    def outer(lo, hi):
        I.split_batch(4, 10_000, lambda a, b: inner.append((lo, a, b)))

    I.split_batch(4, 10_000, outer)
    assert sorted(inner) == [(0, 0, 4), (2, 0, 4)]


@needs_switch
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_the_pool_is_rebuilt_in_a_forked_child(two_threads):
    I.split_batch(4, 10_000, lambda lo, hi: None)      # a pool exists in the parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                       # child: split again, report the threads
        idents = set()
        try:
            I.split_batch(4, 10_000, lambda lo, hi: idents.add(threading.get_ident()))
            os.write(w, str(len(idents)).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 16).decode()
    os.waitpid(pid, 0)
    assert got == "2"


def _conv_case(rng, dtype, n, c, o, size, k, stride, pad, bias):
    x = rng.standard_normal((n, c) + size).astype(dtype)
    w = rng.standard_normal((o, c) + (k,) * len(size)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, w, b


def _run_conv(x, w, b, stride, pad, need_x=True):
    """Forward and every gradient of Σ z·r with chainrule's conv (1-D or 2-D)."""
    conv = F.conv2d if x.ndim == 4 else F.conv1d
    tx = cr.tensor(x, requires_grad=need_x)
    tw = cr.tensor(w, requires_grad=True)
    tb = None if b is None else cr.tensor(b, requires_grad=True)
    z = conv(tx, tw, tb, stride=stride, padding=pad)
    r = np.cos(np.arange(z.numel()).reshape(z.shape)).astype(x.dtype)
    (z * cr.tensor(r)).sum().backward()
    grads = [t.grad.numpy() for t in (tx, tw, tb) if t is not None and t.grad is not None]
    return [z.numpy()] + grads


CONV_CASES = [  # n, c, o, size, k, stride, pad, bias: every branch of Conv's NumPy paths
    (7, 3, 5, (12, 12), 5, 1, 0, True),    # channels-last rows, row-shift input gradient
    (6, 4, 3, (9, 10), 3, 2, 1, False),    # rows, strided and padded (offset loop)
    (5, 1, 6, (14, 14), 5, 1, 2, True),    # one channel, per-sample GEMMs, row shifts padded
    (5, 1, 4, (11, 9), 3, 2, 0, False),    # one channel, strided
    (9, 3, 4, (21,), 3, 2, 1, True),       # conv1d
]


@needs_switch
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"n{c[0]}c{c[1]}k{c[4]}s{c[5]}p{c[6]}")
def test_conv_split_over_threads_equals_serial_and_torch(two_threads, case, dtype, tol):
    rng = np.random.default_rng(sum(map(hash, map(str, case))) % 2**32)
    n, c, o, size, k, stride, pad, bias = case
    x, w, b = _conv_case(rng, dtype, n, c, o, size, k, stride, pad, bias)
    split = _run_conv(x, w, b, stride, pad)
    assert two_threads, "the conv did not split"
    cr.set_num_threads(1)
    serial = _run_conv(x, w, b, stride, pad)
    for s_, p_ in zip(serial, split):
        np.testing.assert_allclose(p_, s_, rtol=tol, atol=tol)
    tconv = torch.nn.functional.conv2d if x.ndim == 4 else torch.nn.functional.conv1d
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    tz = tconv(tx, tw, tb, stride=stride, padding=pad)
    r = np.cos(np.arange(tz.numel()).reshape(tz.shape)).astype(dtype)
    (tz * torch.tensor(r)).sum().backward()
    ref = [tz.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()] + \
        ([] if tb is None else [tb.grad.numpy()])
    scale = max(1.0, float(np.abs(ref[0]).max()))
    for got, want in zip(split, ref):
        np.testing.assert_allclose(got, want, rtol=10 * tol, atol=10 * tol * scale)


@needs_switch
def test_conv_split_without_input_grad_gives_the_weight_grad(two_threads):
    rng = np.random.default_rng(3)
    x, w, b = _conv_case(rng, np.float64, 6, 1, 4, (10, 10), 5, 1, 0, True)
    split = _run_conv(x, w, b, 1, 0, need_x=False)
    cr.set_num_threads(1)
    serial = _run_conv(x, w, b, 1, 0, need_x=False)
    assert len(split) == len(serial) == 3               # z, ∂w, ∂b
    for s_, p_ in zip(serial, split):
        np.testing.assert_allclose(p_, s_, rtol=1e-12, atol=1e-12)


@needs_switch
@pytest.mark.parametrize("shape, k", [((6, 3, 8, 8), 2), ((5, 2, 9, 6), 3), ((7, 2, 6, 6), 2)])
def test_max_pool_split_equals_serial_and_torch_with_ties(two_threads, shape, k):
    rng = np.random.default_rng(5)
    x = np.maximum(rng.standard_normal(shape), 0)        # after a ReLU: all-zero windows tie
    x[0, 0, :k, :k] = 1.5                                # a tie between nonzero maxima
    results = []
    for threads in (2, 1):
        cr.set_num_threads(threads)
        t = cr.tensor(x, requires_grad=True)
        z = F.max_pool2d(t, k)
        r = np.sin(np.arange(z.numel()).reshape(z.shape))
        (z * cr.tensor(r)).sum().backward()
        results.append((z.numpy(), t.grad.numpy()))
    assert two_threads, "the pool did not split"
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    tt = torch.tensor(x, requires_grad=True)
    tz = torch.nn.functional.max_pool2d(tt, k)
    (tz * torch.tensor(np.sin(np.arange(tz.numel()).reshape(tz.shape)))).sum().backward()
    np.testing.assert_array_equal(results[0][0], tz.detach().numpy())
    np.testing.assert_array_equal(results[0][1], tt.grad.numpy())


@needs_switch
def test_max_pool_indices_after_a_split_backward(two_threads):
    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal((4, 3, 6, 6)), 0)
    t = cr.tensor(x, requires_grad=True)
    z, idx = F.max_pool2d(t, 2, return_indices=True)
    z.sum().backward()
    _, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())



@needs_switch
def test_a_busy_machine_runs_splits_serially(two_threads, monkeypatch):
    monkeypatch.setattr(T._load, "_dynamic", True)
    monkeypatch.setattr(T._load, "measure", lambda: 1)
    monkeypatch.setattr(T._load, "_next", 0.0)
    idents = set()
    I.split_batch(8, 10_000, lambda lo, hi: idents.add((lo, hi, threading.get_ident())))
    assert idents == {(0, 8, threading.get_ident())} and two_threads == []
