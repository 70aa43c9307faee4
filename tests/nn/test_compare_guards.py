"""The layer-comparison helper must be able to fail: a layer whose output is cut from the graph
(while torch's output requires grad) used to skip every gradient check and pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule.nn as nn
from tests.nn._compare import check_layer, run_both


class _Detaching(nn.Module):
    """An identity that (wrongly) cuts the graph: y = x, but no gradient flows back."""

    def forward(self, x):
        return x.detach()


X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def test_check_layer_fails_when_chainrules_output_is_cut_from_the_graph():
    with pytest.raises(AssertionError, match="cut from the graph"):
        check_layer(_Detaching(), torch.nn.Identity(), X)


def test_run_both_fails_when_chainrules_output_is_cut_from_the_graph():
    with pytest.raises(AssertionError, match="requires_grad=False"):
        run_both(_Detaching(), torch.nn.Identity(), X)


def test_check_layer_fails_when_chainrule_requires_grad_where_torch_does_not():
    class _TorchDetaching(torch.nn.Module):
        def forward(self, x):
            return x.detach()
    with pytest.raises(AssertionError, match="where torch's does not"):
        check_layer(nn.Identity(), _TorchDetaching(), X)


def test_check_layer_passes_a_real_identity_and_checks_its_gradient():
    check_layer(nn.Identity(), torch.nn.Identity(), X)
    _, _, gx, gxt = run_both(nn.Identity(), torch.nn.Identity(), X)
    assert gx is not None and gxt is not None
    np.testing.assert_allclose(gx.numpy(), gxt.numpy())
