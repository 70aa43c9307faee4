"""Convolution on oneDNN (the ``onednn`` extra) against chainrule's NumPy path: outputs and
gradients over random shapes, when the plan is and is not used, buffers shared between layers
of one configuration, threads, a forked child, and the C API's errors."""
from __future__ import annotations

import importlib.metadata
import os
import select

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule._onednn import conv as D
from chainrule._onednn import library as Lib
from chainrule.ops import conv as C

try:
    importlib.metadata.version("onednn-cpu-gomp")
    INSTALLED = True
except importlib.metadata.PackageNotFoundError:
    INSTALLED = False

needs = pytest.mark.skipif(
    Lib.find() is None, reason="oneDNN is not usable here: " + (
        Lib.load_error or "onednn-cpu-gomp is not installed (the onednn extra; dev installs it)"))


def test_the_installed_wheel_is_found():
    """Installed means found: a wheel that does not load is a failure, not a silent fallback."""
    if not INSTALLED:
        assert D.plan_for(np.ones((1, 1, 3), np.float32), np.ones((1, 1, 1), np.float32), None,
                          (1,), (1,), ((0, 0),), (3,)) is None
        pytest.skip("onednn-cpu-gomp is not installed: only the fallback was checked")
    lib = Lib.find()
    if lib is None and Lib.load_error and "libgomp" in Lib.load_error:
        pytest.skip(f"this system has no GNU OpenMP runtime for oneDNN: {Lib.load_error}")
    assert lib is not None and lib.version.startswith("3."), Lib.load_error
    assert cr.backends.mkldnn.is_available()


def test_an_installed_library_that_does_not_load_warns_once(monkeypatch, tmp_path):
    bad = tmp_path / "libdnnl.so.3"
    bad.write_bytes(b"not a shared object")
    monkeypatch.setattr(Lib, "library_paths", lambda: [str(bad)])
    monkeypatch.setattr(Lib, "_searched", False)
    monkeypatch.setattr(Lib, "_found", None)
    monkeypatch.setattr(Lib, "load_error", None)
    with pytest.warns(RuntimeWarning, match="oneDNN is installed but did not load .*libdnnl"):
        assert Lib.find() is None
    assert str(bad) in Lib.load_error
    assert Lib.find() is None           # searched once: no second warning


def _run(x, w, b, stride, pads, dilation, need, onednn: bool, monkeypatch, groups=1):
    """Output and gradients of one conv with oneDNN on or off; checks which path ran."""
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", onednn)
    ts = [None if a is None else cr.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
    z = C.convolution(ts[0], ts[1], ts[2], stride=stride, pads=pads, dilation=dilation,
                      groups=groups)
    node = z.grad_fn
    if onednn or groups == 1:
        assert isinstance(node, C.Conv) and (node.plan is not None) == onednn
    else:
        assert not isinstance(node, C.Conv)        # composed: Unfold + batched matmul
    g = np.random.default_rng(5).standard_normal(z.shape).astype(np.float32)
    z.backward(cr.tensor(g))
    return [z.numpy()] + [None if t is None or t.grad is None else t.grad.numpy() for t in ts]


@st.composite
def conv_cases(draw):
    nd = draw(st.integers(1, 3))
    n, c, o = draw(st.integers(1, 4)), draw(st.integers(1, 10)), draw(st.integers(1, 9))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    size = tuple(draw(st.integers(max(1, d * (kk - 1) + 1 - lo - hi), 9))
                 for kk, d, (lo, hi) in zip(k, dilation, pads))
    bias = draw(st.booleans())
    need = (draw(st.booleans()), True, bias)
    return (n, c) + size, (o, c) + k, stride, pads, dilation, bias, need


@needs
@given(conv_cases())
@settings(max_examples=60, deadline=None)
def test_onednn_equals_the_numpy_path(case):
    """Forward, ∂L/∂x, ∂L/∂w and ∂L/∂b agree to float32 rounding for 1-D to 3-D convolutions
    with strides, dilations, asymmetric padding, with and without bias and ∂L/∂x."""
    xs, ws, stride, pads, dilation, bias, need = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    with pytest.MonkeyPatch.context() as mp:
        fast = _run(x, w, b, stride, pads, dilation, need, True, mp)
        ref = _run(x, w, b, stride, pads, dilation, need, False, mp)
    for got, want in zip(fast, ref):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.dtype == np.float32 and got.shape == want.shape
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5 * scale)


@st.composite
def grouped_cases(draw):
    groups = draw(st.integers(2, 4))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    nd = draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((p, p) for p in (draw(st.integers(0, 1)) for _ in range(nd)))
    size = tuple(draw(st.integers(max(1, kk - 2 * lo), 7)) for kk, (lo, _) in zip(k, pads))
    bias = draw(st.booleans())
    return ((draw(st.integers(1, 3)), groups * cg) + size, (groups * og, cg) + k, stride, pads,
            (1,) * nd, bias, (True, True, bias), groups)


@needs
@given(grouped_cases())
@settings(max_examples=40, deadline=None)
def test_grouped_convolutions_equal_the_composed_path(case):
    """groups > 1 (depthwise included) run as one oneDNN node and agree with chainrule's
    Unfold + batched-matmul composition."""
    xs, ws, stride, pads, dilation, bias, need, groups = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    with pytest.MonkeyPatch.context() as mp:
        fast = _run(x, w, b, stride, pads, dilation, need, True, mp, groups)
        ref = _run(x, w, b, stride, pads, dilation, need, False, mp, groups)
    for got, want in zip(fast, ref):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-5,
                                       atol=2e-5 * max(1.0, float(np.abs(want).max())))


@needs
def test_grouped_second_derivatives_follow_the_composed_path(monkeypatch):
    """create_graph through a grouped oneDNN node: ∂/∂w of (∂L/∂x · v) equals the composition's."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 7, 7)).astype(np.float32)
    w = rng.standard_normal((9, 2, 3, 3)).astype(np.float32)
    v = rng.standard_normal(x.shape).astype(np.float32)
    out = []
    for on in (True, False):
        monkeypatch.setattr(cr.backends.mkldnn, "enabled", on)
        xt, wt = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
        z = C.convolution(xt, wt, None, stride=(1, 1), pads=((1, 1), (1, 1)), dilation=(1, 1),
                          groups=3)
        assert isinstance(z.grad_fn, C.Conv) == on
        (gx,) = cr.autograd.grad((z * z).sum(), [xt], create_graph=True)
        (gw,) = cr.autograd.grad((gx * cr.tensor(v)).sum(), [wt])
        out.append((gx.detach().numpy(), gw.numpy()))
    for a, r in zip(*out):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-3)


@needs
@pytest.mark.parametrize("c", [1, 3, 16])
def test_both_backward_data_layouts_agree_with_torch(c, monkeypatch):
    """∂L/∂x on plain layouts (C < 8) and on blocked ones, against PyTorch, batch 5."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(c)
    x = rng.standard_normal((5, c, 11, 10)).astype(np.float32)
    w = rng.standard_normal((6, c, 3, 4)).astype(np.float32)
    got = _run(x, w, None, (1, 2), ((1, 1), (2, 0)), (2, 1), (True, True, False), True,
               monkeypatch)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    zt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (2, 0, 1, 1)), wt,
                                    stride=(1, 2), dilation=(2, 1))
    zt.backward(torch.tensor(np.random.default_rng(5).standard_normal(zt.shape)
                             .astype(np.float32)))
    for a, r in zip(got[:3], (zt.detach(), xt.grad, wt.grad)):
        np.testing.assert_allclose(a, r.numpy(), rtol=1e-5, atol=1e-4)


@needs
def test_two_layers_of_one_configuration_share_a_plan_and_keep_their_gradients(monkeypatch):
    """Two identical convolutions in one graph use one plan (and its buffers) one after the
    other: their gradients still equal the NumPy path's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 7, 7)).astype(np.float32)
    w1, w2 = (rng.standard_normal((4, 4, 3, 3)).astype(np.float32) for _ in range(2))
    out = []
    for on in (True, False):
        monkeypatch.setattr(cr.backends.mkldnn, "enabled", on)
        ts = [cr.tensor(a, requires_grad=True) for a in (x, w1, w2)]
        pad = ((1, 1), (1, 1))
        z1 = C.convolution(ts[0], ts[1], stride=(1, 1), pads=pad, dilation=(1, 1))
        z2 = C.convolution(cr.tanh(z1), ts[2], stride=(1, 1), pads=pad, dilation=(1, 1))
        if on:
            assert z1.grad_fn.plan is z2.grad_fn.plan
        (z2 * z2).sum().backward()
        out.append([t.grad.numpy() for t in ts])
    for a, r in zip(*out):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4)


@needs
def test_non_contiguous_inputs_and_gradients(monkeypatch):
    rng = np.random.default_rng(4)
    x = np.ascontiguousarray(rng.standard_normal((6, 6, 3, 2)).astype(np.float32)
                             ).transpose(3, 2, 0, 1)                        # (2, 3, 6, 6) view
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    fast = _run(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), (True, True, False), True,
                monkeypatch)
    ref = _run(np.ascontiguousarray(x), w, None, (1, 1), ((0, 0), (0, 0)), (1, 1),
               (True, True, False), False, monkeypatch)
    for a, r in zip(fast[:3], ref[:3]):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)


@needs
def test_when_the_numpy_path_runs_instead(monkeypatch):
    """float64, the switch off, and a process other than the one that loaded oneDNN."""
    args = ((1,), (1,), ((0, 0),), (4,))
    x32, w32 = np.ones((2, 3, 6), np.float32), np.ones((4, 3, 3), np.float32)
    assert D.plan_for(x32, w32, None, *args) is not None
    assert D.plan_for(x32.astype(np.float64), w32.astype(np.float64), None, *args) is None
    with cr.backends.mkldnn.flags(enabled=False):
        assert D.plan_for(x32, w32, None, *args) is None and not D.enabled()
    assert cr.backends.mkldnn.enabled and D.enabled()
    monkeypatch.setattr(Lib.find(), "pid", -1)
    assert D.plan_for(x32, w32, None, *args) is None


@needs
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_convolves_on_the_numpy_path_without_hanging():
    """GNU OpenMP's threads do not survive fork: a child after the parent used oneDNN must not
    call it (it would hang); it gets the NumPy path and the same numbers."""
    x = cr.randn(2, 3, 8, 8)
    w = cr.randn(4, 3, 3, 3)
    parent = cr.nn.functional.conv2d(x, w).numpy()
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:                                           # the child
        try:
            z = cr.nn.functional.conv2d(x, w)
            ok = z.grad_fn is None or getattr(z.grad_fn, "plan", None) is None
            os.write(wfd, (b"1" if ok and np.allclose(z.numpy(), parent, atol=1e-4) else b"0"))
        finally:
            os._exit(0)
    os.close(wfd)
    ready, _, _ = select.select([r], [], [], 30)
    got = os.read(r, 1) if ready else b""
    os.close(r)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert got == b"1", "the forked child hung or computed a different convolution"


@needs
def test_openmp_threads_follow_set_num_threads(monkeypatch):
    lib = Lib.find()
    before = cr.get_num_threads()
    monkeypatch.setattr(cr._blas.load, "_dynamic", False)
    try:
        for n in (1, 2):
            cr.set_num_threads(n)
            cr.nn.functional.conv2d(cr.randn(2, 3, 6, 6), cr.randn(2, 3, 3, 3))
            assert lib._threads == n
    finally:
        cr.set_num_threads(before)


@needs
def test_a_configuration_onednn_rejects_falls_back_to_numpy(monkeypatch):
    """A plan that cannot be built (here: a forced failure) leaves that configuration on the
    NumPy path, remembered, with the same numbers."""
    def refuse(*a, **k):
        raise Lib.OneDNNError("oneDNN convolution forward: unimplemented (3)")
    monkeypatch.setattr(D, "ConvPlan", refuse)
    monkeypatch.setattr(D, "_plans", Lib.PlanCache())
    x, w = np.ones((2, 3, 5, 5), np.float32), np.ones((2, 3, 3, 3), np.float32)
    args = ((1, 1), (1, 1), ((0, 0), (0, 0)), (3, 3))
    assert D.plan_for(x, w, None, *args) is None and D.plan_for(x, w, None, *args) is None
    assert list(D._plans.plans.values()) == [None]
    z = cr.nn.functional.conv2d(cr.tensor(x), cr.tensor(w))
    assert z.grad_fn is None or z.grad_fn.plan is None
    np.testing.assert_allclose(z.numpy(), np.full((2, 2, 3, 3), 27.0))


def test_the_backend_switch_and_its_context_manager_restore():
    m = cr.backends.mkldnn
    assert m.enabled is True and m.deterministic is False
    with m.flags(enabled=False, deterministic=True):
        assert m.enabled is False and m.deterministic is True and not D.enabled()
    with pytest.raises(KeyError):
        with m.flags():
            raise KeyError("inside")
    assert m.enabled is True and m.deterministic is False


@needs
def test_a_plan_no_one_holds_releases_its_onednn_objects(monkeypatch):
    """Descriptors, memories and primitives go back to oneDNN once the plan is unreachable
    (evicted from the cache, its graph nodes gone), newest first; a cached plan keeps them."""
    import gc
    lib = Lib.find()
    destroyed = []
    real = lib.destroy
    monkeypatch.setattr(lib, "destroy", lambda kind, h: destroyed.append(kind) or real(kind, h))
    x, w = np.ones((2, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float32)
    plan = D.ConvPlan(lib, x.shape, w.shape, (2, 4, 4, 4), False, (1, 1), (1, 1),
                      ((0, 0), (0, 0)))
    plan.backward(x, w, np.ones((2, 4, 4, 4), np.float32), True, True, False)
    kinds = [k for k, _ in plan.handles.items]
    assert {"memory_desc", "memory", "primitive", "primitive_desc"} <= set(kinds)
    del plan
    gc.collect()
    assert destroyed == kinds[::-1]


def test_a_failed_call_names_the_call_and_the_status():
    with pytest.raises(Lib.OneDNNError, match=r"oneDNN convolution forward \(2, 3\): "
                                              r"invalid arguments \(2\)"):
        Lib.Library.check(2, "convolution forward (2, 3)")
    Lib.Library.check(0, "anything")


def test_the_buffers_are_aligned():
    for nbytes in (4, 100, 4096 + 4):
        buf = Lib.aligned(nbytes)
        assert buf.ctypes.data % 64 == 0 and buf.nbytes >= nbytes and buf.dtype == np.float32
