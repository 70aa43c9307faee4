"""The fast paths of convolution and pooling against plain reference loops, second derivatives
through them, and dropout's seeded masks and scaling.

The op table compares these functions with PyTorch; here each fast path is pinned to a direct,
obviously-correct computation (a loop over output positions), so that a broken stride trick
cannot hide behind an equally broken comparison.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradgradcheck
from chainrule.ops import conv as C, pool as P


def _conv_loop(x, w, stride, pad, dilation, groups):
    """z[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x_pad[n, g·Cg + c, i·s + a·d, j·s + b·d]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), x.dtype)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    ho = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    z = np.zeros((n, o, ho, wo))
    og = o // groups
    for b, oc, i, j in itertools.product(range(n), range(o), range(ho), range(wo)):
        g = oc // og
        for ci, a, bb in itertools.product(range(cg), range(kh), range(kw)):
            z[b, oc, i, j] += w[oc, ci, a, bb] * xp[b, g * cg + ci, i * stride + a * dilation,
                                                   j * stride + bb * dilation]
    return z


@pytest.mark.parametrize("stride,pad,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 1),
                                                         (1, 2, 2, 1), (2, 1, 2, 2)])
def test_im2col_conv_matches_direct_loop(stride, pad, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    z = F.conv2d(cr.tensor(x), cr.tensor(w), stride=stride, padding=pad, dilation=dilation,
                 groups=groups)
    np.testing.assert_allclose(z.numpy(), _conv_loop(x, w, stride, pad, dilation, groups),
                               rtol=1e-12, atol=1e-12)


def test_unfold_reads_each_window_and_fold_is_its_adjoint():
    """cols[c, a, b, n, i, j] = x_pad[n, c, i·s + a·d, j·s + b·d], and ⟨fold(g), x⟩ = ⟨g, unfold(x)⟩."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 7))
    params = dict(kernel=(2, 3), stride=(2, 1), dilation=(1, 2), pads=((1, 0), (2, 1)))
    cols = C.Unfold.apply(cr.tensor(x), **params).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 1)))
    for c, a, b, n, i, j in itertools.product(*(range(s) for s in cols.shape)):
        assert cols[c, a, b, n, i, j] == xp[n, c, i * 2 + a, j + b * 2]
    g = rng.standard_normal(cols.shape)
    folded = C.fold_cols(g, x.shape, **params)
    assert folded.shape == x.shape
    np.testing.assert_allclose(np.sum(folded * x), np.sum(g * cols), rtol=1e-12)


def _composed_conv(x, w, b, stride, pads, dilation):
    """The reference path: Unfold + one matmul + broadcast bias, each an existing primitive."""
    from chainrule import ops
    nd = w.ndim - 2
    o = w.shape[0]
    cols = C.Unfold.apply(x, kernel=tuple(w.shape[2:]), stride=stride, dilation=dilation,
                          pads=pads)
    k, m = int(np.prod(cols.shape[:1 + nd])), int(np.prod(cols.shape[1 + nd:]))
    z = ops.matmul(ops.reshape(w, (o, k)), ops.reshape(cols, (k, m)))
    if b is not None:
        z = z + ops.reshape(b, (o, 1))
    z = ops.reshape(z, (o,) + tuple(cols.shape[1 + nd:]))
    return ops.transpose(z, (1, 0) + tuple(range(2, 2 + nd)))


@pytest.mark.parametrize("dtype,tol,engine", [(np.float64, 1e-12, "numpy"),
                                              (np.float32, 2e-5, "numpy"),
                                              (np.float32, 2e-5, "onednn")])
@pytest.mark.parametrize("xs,ws,stride,pads,dilation,bias", [
    ((3, 1, 9, 8), (4, 1, 3, 2), (1, 1), ((0, 0), (0, 0)), (1, 1), True),    # one channel
    ((2, 3, 9, 8), (5, 3, 3, 2), (1, 1), ((0, 0), (0, 0)), (1, 1), True),    # channels-last
    ((2, 3, 9, 8), (5, 3, 3, 3), (2, 1), ((1, 2), (0, 1)), (1, 2), False),   # strided, padded
    ((2, 1, 7, 6), (2, 1, 2, 3), (1, 2), ((2, 1), (1, 1)), (2, 1), False),
    ((2, 4, 11), (3, 4, 3), (2,), ((1, 1),), (2,), True),                    # 1-D
    ((3, 4, 7, 9), (5, 4, 4, 3), (1, 1), ((2, 1), (0, 2)), (1, 1), True),    # row shifts, padded
    ((2, 1, 6, 5), (3, 1, 2, 4), (1, 1), ((1, 0), (2, 2)), (1, 1), False),
    ((2, 3, 5, 6), (2, 3, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), True),    # 1×1 kernel
], ids=["c1", "cl", "cl_strided_padded", "c1_strided_padded", "conv1d", "cl_row_shifts_padded",
        "c1_row_shifts_padded", "cl_1x1"])
def test_fused_conv_equals_composed_reference(xs, ws, stride, pads, dilation, bias, dtype, tol,
                                              engine, monkeypatch):
    """Conv (channels-last im2col, in-place bias, per-offset input gradient; or oneDNN's
    primitives, the onednn extra) gives the reference path's output and gradients for x, w
    and b."""
    if engine == "onednn" and not cr.backends.mkldnn.is_available():
        pytest.skip("oneDNN is not installed (the onednn extra)")
    monkeypatch.setattr(cr.backends.mkldnn, "enabled", engine == "onednn")
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype),
              rng.standard_normal(ws[0]).astype(dtype) if bias else None]
    g = rng.standard_normal((xs[0], ws[0]) + tuple(
        C.out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi)
        in zip(xs[2:], ws[2:], stride, dilation, pads))).astype(dtype)
    results = []
    for fn in (C.convolution, _composed_conv):
        ts = [None if a is None else cr.tensor(a, requires_grad=True) for a in arrays]
        z = fn(ts[0], ts[1], ts[2], stride=stride, pads=pads, dilation=dilation)
        if fn is C.convolution:
            assert (z.grad_fn.plan is not None) == (engine == "onednn")
        z.backward(cr.tensor(g))
        results.append([z.numpy()] + [t.grad.numpy() for t in ts if t is not None])
    for fast, ref in zip(*results):
        assert fast.dtype == dtype and fast.shape == ref.shape
        np.testing.assert_allclose(fast, ref, rtol=tol, atol=tol)


def test_fused_conv_is_the_node_used_for_groups_1_and_skips_unneeded_input_gradient():
    x = cr.randn(2, 3, 6, 6)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    z = F.conv2d(x, w)
    assert isinstance(z.grad_fn, C.Conv)
    assert z.numpy().flags.c_contiguous and z.dtype == np.float32
    z.sum().backward()
    assert x.grad is None and w.grad.dtype == np.float32


@pytest.mark.parametrize("cin", [1, 3])
def test_fused_conv_workspaces_are_not_shared_between_live_graphs(cin):
    """Column buffers are recycled only once their node is gone: three forwards before any
    backward (and a graph dropped unused) still give each backward its own columns."""
    rng = np.random.default_rng(13)
    w = cr.tensor(rng.standard_normal((4, cin, 3, 3)), requires_grad=True)
    xs = [rng.standard_normal((2, cin, 6, 5)) for _ in range(3)]
    zs = [F.conv2d(cr.tensor(x), w) for x in xs]
    F.conv2d(cr.tensor(rng.standard_normal((2, cin, 6, 5))), w).sum()          # dropped
    for x, z in zip(xs, zs):
        w.grad = None
        z.sum().backward()
        w_ref = cr.tensor(w.numpy(), requires_grad=True)
        ref = _composed_conv(cr.tensor(x), w_ref, None, (1, 1), ((0, 0), (0, 0)), (1, 1))
        ref.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), w_ref.grad.numpy(), rtol=1e-12)
    z = F.conv2d(cr.tensor(xs[0]), w)                                   # reuses a freed buffer
    np.testing.assert_allclose(z.numpy(), zs[0].numpy(), rtol=1e-12)


@pytest.mark.parametrize("xs,ws,kw", [
    ((1, 1, 5, 5), (2, 1, 2, 2), dict(padding=1)),
    ((1, 2, 5, 5), (2, 2, 3, 2), dict(stride=2, padding=(1, 0), dilation=(1, 2))),
], ids=["one_channel", "channels_last"])
def test_second_derivatives_through_fused_conv_with_bias(xs, ws, kw):
    rng = np.random.default_rng(12)
    x = cr.tensor(rng.standard_normal(xs), requires_grad=True)
    w = cr.tensor(rng.standard_normal(ws), requires_grad=True)
    b = cr.tensor(rng.standard_normal(ws[0]), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw) ** 2, [x, w, b])


def _pool_loop(x, k, s, reduce):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return np.array([[[[reduce(x[b, ch, i * s:i * s + k, j * s:j * s + k])
                        for j in range(wo)] for i in range(ho)] for ch in range(c)]
                     for b in range(n)])


@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (1, 2, 7, 5)])   # exact tiling, and a remainder
def test_reshape_max_pool_matches_loop_and_routes_to_first_maximum(shape):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, shape).astype(np.float32)                # many ties
    assert P.tiles_exactly((2, 2), (2, 2), (1, 1), ((0, 0), (0, 0)))
    t = cr.tensor(x, requires_grad=True)
    z = F.max_pool2d(t, 2)
    np.testing.assert_array_equal(z.numpy(), _pool_loop(x, 2, 2, np.max))
    g = rng.standard_normal(z.shape).astype(np.float32)
    z.backward(cr.tensor(g))
    expect = np.zeros_like(x)
    for b, ch, i, j in itertools.product(*(range(n) for n in z.shape)):
        win = x[b, ch, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        a, bb = np.unravel_index(np.argmax(win), win.shape)          # first maximum, row-major
        expect[b, ch, 2 * i + a, 2 * j + bb] += g[b, ch, i, j]
    np.testing.assert_array_equal(t.grad.numpy(), expect)
    assert t.grad.dtype == np.float32


def test_overlapping_max_pool_accumulates_where_windows_share_the_maximum():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 6, 6))
    t = cr.tensor(x, requires_grad=True)
    z = F.max_pool2d(t, 3, stride=1)
    np.testing.assert_array_equal(z.numpy(), _pool_loop(x, 3, 1, np.max))
    z.sum().backward()
    expect = np.zeros_like(x)
    for b, ch, i, j in itertools.product(*(range(n) for n in z.shape)):
        win = x[b, ch, i:i + 3, j:j + 3]
        a, bb = np.unravel_index(np.argmax(win), win.shape)
        expect[b, ch, i + a, j + bb] += 1
    np.testing.assert_array_equal(t.grad.numpy(), expect)


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (3, 2)])
def test_avg_pool_matches_loop(k, s):
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 7))
    z = F.avg_pool2d(cr.tensor(x), k, stride=s)
    np.testing.assert_allclose(z.numpy(), _pool_loop(x, k, s, np.mean), rtol=1e-12)


def test_adaptive_avg_pool_uses_pytorch_window_bounds():
    """Output i averages [⌊i·n/m⌋, ⌈(i+1)·n/m⌉): overlapping windows when m ∤ n."""
    x = np.arange(7, dtype=np.float64).reshape(1, 1, 7)
    z = F.adaptive_avg_pool1d(cr.tensor(x), 3)
    np.testing.assert_allclose(z.numpy().ravel(), [np.mean([0, 1, 2]), np.mean([2, 3, 4]),
                                                np.mean([4, 5, 6])])


def test_conv_keeps_float32():
    x = cr.randn(2, 3, 5, 5, requires_grad=True)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    b = cr.randn(4, requires_grad=True)
    z = F.max_pool2d(F.conv2d(x, w, b, padding=1), 2)
    F.avg_pool2d(z, 2, padding=1).sum().backward()
    assert z.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize("fn", [
    lambda x, w: F.conv2d(x, w.reshape(1, 2, 2, 2), stride=2, padding=1, dilation=(1, 2)) ** 2,
    lambda x, w: F.conv2d(x, w, padding="same", groups=2) ** 2,
    lambda x, w: F.max_pool2d(F.conv2d(x, w, groups=2) ** 2, 2),
    lambda x, w: F.max_pool2d(x * x, 3, stride=2, padding=1) * w.sum(),
    lambda x, w: F.avg_pool2d(x * x, 3, stride=2, padding=1, count_include_pad=False) * w.sum(),
], ids=["conv", "conv_same_groups", "conv_then_tiled_max", "overlapping_max", "avg"])
def test_second_derivatives_through_conv_and_pool(fn):
    rng = np.random.default_rng(5)
    x = cr.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((2, 1, 2, 2)), requires_grad=True)
    assert gradgradcheck(fn, [x, w])


def test_bad_conv_arguments_name_the_problem():
    x, w = cr.randn(1, 3, 5, 5), cr.randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match="conv2d: input has 3 channels"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, cr.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, cr.randn(4, 3, 7, 7))
    with pytest.raises(TypeError, match="same floating dtype"):
        F.conv2d(x.double(), cr.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        F.max_pool2d(x, 2, padding=2)


# -- dropout -------------------------------------------------------------------------------------------
def test_dropout_masks_repeat_under_manual_seed_and_scale_by_inverse_keep():
    x = cr.ones(200, 50)
    cr.manual_seed(7)
    a = F.dropout(x, p=0.3)
    cr.manual_seed(7)
    b = F.dropout(x, p=0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert set(np.unique(a.numpy())) == {0.0, np.float32(1 / 0.7)}
    assert a.dtype == np.float32
    assert abs((a.numpy() == 0).mean() - 0.3) < 0.02
    c = F.dropout(x, p=0.3)                                          # the generator moved on
    assert not np.array_equal(a.numpy(), c.numpy())


def test_dropout_gradient_is_the_scaled_mask():
    x = cr.randn(30, 20, requires_grad=True)
    z = F.dropout(x, p=0.5)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (z.numpy() != 0) * np.float32(2.0))


def test_dropout_identity_outside_training_and_at_p0_and_zero_at_p1():
    x = cr.randn(4, 5, requires_grad=True)
    assert F.dropout(x, p=0.9, training=False) is x
    assert F.dropout(x, p=0.0) is x
    z = F.dropout(x, p=1.0)
    assert np.all(z.numpy() == 0) and z.requires_grad


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1"):
        F.dropout(cr.ones(3), p=p)
