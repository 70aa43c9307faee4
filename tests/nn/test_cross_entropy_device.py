"""The GPU's host-sync-free pieces, checked on the CPU: the masked fused cross-entropy (the
path CUDA takes for any ignore_index without host reductions), checks deferred to the next
sync, clipping and pin_memory on a machine without CUDA."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import devices
from chainrule.autograd.gradcheck import gradcheck
from chainrule.nn.functional.cross_entropy import IndexCrossEntropyMeanMasked

from ..optim import fake_cupy


@pytest.mark.parametrize("targets", [[0, 2, 1, 3], [0, -100, 3, -100], [1, 1, 1, 1]])
def test_masked_fused_cross_entropy_matches_torch(targets):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 5))
    x = cr.tensor(logits, requires_grad=True)
    t = np.array(targets)
    loss = IndexCrossEntropyMeanMasked.apply(x, t, ignore_index=-100)
    loss.backward()
    xt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(xt, torch.tensor(t), ignore_index=-100)
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_masked_fused_cross_entropy_second_order_and_all_ignored():
    rng = np.random.default_rng(2)
    t = np.array([0, -100, 2])
    assert gradcheck(lambda x: IndexCrossEntropyMeanMasked.apply(x, t, ignore_index=-100),
                     (cr.tensor(rng.standard_normal((3, 4)), requires_grad=True),))
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    (g,) = cr.autograd.grad(IndexCrossEntropyMeanMasked.apply(x, t, ignore_index=-100), x,
                            create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    xt = torch.tensor(x.numpy(), requires_grad=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.cross_entropy(xt, torch.tensor(t)), xt,
                                create_graph=True)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10, atol=1e-12)
    with np.errstate(invalid="ignore"):
        none = IndexCrossEntropyMeanMasked.apply(x, np.array([-100, -100, -100]))
    assert np.isnan(none.item())        # 0/0 as in PyTorch


def test_masked_fused_cross_entropy_rejects_bad_targets_on_the_cpu_at_once():
    with pytest.raises(Exception, match="target 4 is out of bounds for 4 classes"):
        IndexCrossEntropyMeanMasked.apply(cr.randn(2, 4), np.array([0, 4]))


def test_device_target_check_is_reported_at_the_next_item(monkeypatch):
    """On a 'device' (the stand-in cupy) a bad target raises at .item(), not at the loss."""
    fake = fake_cupy.install(monkeypatch)
    monkeypatch.setattr(devices, "_pending", {})
    x = cr.Tensor._wrap(np.random.default_rng(0).standard_normal((3, 4)).view(fake.ndarray),
                        False, None)
    good = cr.nn.functional.cross_entropy(x, cr.Tensor._wrap(
        np.array([0, 3, -100]).view(fake.ndarray), False, None))
    ref = torch.nn.functional.cross_entropy(torch.tensor(np.asarray(x._data)),
                                            torch.tensor([0, 3, -100]))
    np.testing.assert_allclose(good.item(), ref.item(), rtol=1e-6)
    bad = cr.nn.functional.cross_entropy(x, cr.Tensor._wrap(
        np.array([0, 7, 1]).view(fake.ndarray), False, None))       # no error yet
    assert devices._pending
    with pytest.raises(IndexError, match="out of bounds for 4 classes.*reported at this sync"):
        bad.item()
    assert not devices._pending
    fake_cupy.forget_kernels()


def test_clip_grad_norm_on_the_cpu_unchanged_by_the_device_path():
    p = cr.nn.Parameter(cr.tensor([3.0, 4.0]))
    p.grad = cr.tensor([3.0, 4.0])
    total = cr.nn.utils.clip_grad_norm_([p], 1.0)
    np.testing.assert_allclose(total.item(), 5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)


def test_pin_memory_is_a_silent_no_op_without_cuda():
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.data.prefetch import pin_batch, prefetch_to
    ds = TensorDataset(cr.arange(10.0), cr.arange(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pinned = [b for b in DataLoader(ds, batch_size=4, pin_memory=True)]
    plain = [b for b in DataLoader(ds, batch_size=4)]
    for (a, b), (c, d) in zip(pinned, plain):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
    batch = (cr.ones(2),)
    assert pin_batch(batch) is batch
    loader = DataLoader(ds, batch_size=4)
    assert prefetch_to(loader, None) is loader and prefetch_to(loader, "cpu") is loader
    with pytest.raises(devices.CUDAUnavailableError, match="CuPy"):
        prefetch_to(loader, "cuda")
