"""Loss arguments the main loss tests do not reach: the elementwise ``weight`` of mse/l1/huber
(PyTorch 2.13's weighted reductions), label smoothing with ignored targets, pos_weight's
gradient, and batch norm's running statistics over several steps — all against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 3))
T = RNG.standard_normal((4, 3))
W = RNG.uniform(0.2, 2.0, (4, 3))


def _value_and_grad(f, tf, *, x=X, cr_args=(), t_args=(), **kw):
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = f(xc, *cr_args, **kw)
    yt = tf(xt, *t_args, **kw)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weight_of_regression_losses_matches_torch(name, reduction):
    _value_and_grad(getattr(F, name), getattr(TF, name), cr_args=(cr.tensor(T),),
                    t_args=(torch.tensor(T),), reduction=reduction, weight=None)
    _value_and_grad(lambda a, b, **k: getattr(F, name)(a, b, weight=cr.tensor(W), **k),
                    lambda a, b, **k: getattr(TF, name)(a, b, weight=torch.tensor(W), **k),
                    cr_args=(cr.tensor(T),), t_args=(torch.tensor(T),), reduction=reduction)


@pytest.mark.parametrize("beta", [0.25, 3.0])
def test_smooth_l1_with_beta_away_from_one_matches_torch(beta):
    _value_and_grad(F.smooth_l1_loss, TF.smooth_l1_loss, cr_args=(cr.tensor(T),),
                    t_args=(torch.tensor(T),), beta=beta)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_label_smoothing_gives_ignored_targets_no_loss_as_in_torch(reduction):
    x = RNG.standard_normal((5, 4))
    t = np.array([1, 3, 3, 0, 2])
    w = np.array([0.5, 2.0, 1.0, 1.5])
    common = dict(x=x, cr_args=(cr.tensor(t),), t_args=(torch.tensor(t),), ignore_index=3,
                  label_smoothing=0.2, reduction=reduction)
    _value_and_grad(F.cross_entropy, TF.cross_entropy, **common)
    _value_and_grad(lambda a, b, **k: F.cross_entropy(a, b, weight=cr.tensor(w), **k),
                    lambda a, b, **k: TF.cross_entropy(a, b, weight=torch.tensor(w), **k),
                    **common)


def test_nll_loss_mean_divides_by_the_weights_of_the_targets_kept():
    x = RNG.standard_normal((5, 4))
    t = np.array([1, 3, 3, 0, 2])
    w = np.array([0.5, 2.0, 1.0, 1.5])
    _value_and_grad(lambda a, b, **k: F.nll_loss(a, b, weight=cr.tensor(w), **k),
                    lambda a, b, **k: TF.nll_loss(a, b, weight=torch.tensor(w), **k),
                    x=x, cr_args=(cr.tensor(t),), t_args=(torch.tensor(t),), ignore_index=1)


def test_bce_with_logits_pos_weight_gradient_matches_torch():
    t = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float64)
    p = np.array([0.5, 2.0, 4.0])
    _value_and_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=cr.tensor(p)),
        lambda a, b: TF.binary_cross_entropy_with_logits(a, b, pos_weight=torch.tensor(p)),
        cr_args=(cr.tensor(t),), t_args=(torch.tensor(t),))


def test_batch_norm_running_statistics_follow_torch_over_steps():
    bn, tbn = nn.BatchNorm1d(3, momentum=0.3), torch.nn.BatchNorm1d(3, momentum=0.3).double()
    bn.to(np.float64)
    for step in range(3):
        x = RNG.standard_normal((6, 3)) * (step + 1) + step
        bn(cr.tensor(x))
        tbn(torch.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-12)
