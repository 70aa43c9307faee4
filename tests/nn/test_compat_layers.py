"""SiLU, Hardswish, ConvTranspose1d/2d, GroupNorm and Upsample against PyTorch's modules with
the same weights (copied through state_dict): outputs, input and parameter gradients; plus
their argument errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from tests.nn._compare import check_layer

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def _x(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 3


@DTYPES
@pytest.mark.parametrize("name", ["SiLU", "Hardswish"])
def test_gated_activations(dtype, name):
    check_layer(getattr(nn, name)(), getattr(torch.nn, name)(), _x((3, 5), dtype))


@DTYPES
@pytest.mark.parametrize("name, args, kw, shape", [
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 5)),
    ("ConvTranspose1d", (3, 2, 2), dict(dilation=2, bias=False), (3, 4)),
    ("ConvTranspose2d", (2, 3, (3, 2)), dict(stride=(2, 1), padding=(1, 0)), (2, 2, 4, 3)),
    ("ConvTranspose2d", (6, 3, 3), dict(stride=3, output_padding=2, groups=3, dilation=2),
     (1, 6, 3, 3)),
])
def test_conv_transpose(dtype, name, args, kw, shape):
    cr.manual_seed(0)
    layer, tlayer = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert tuple(layer.weight.shape) == tuple(tlayer.weight.shape)
    check_layer(layer, tlayer, _x(shape, dtype), train=True, steps=2)
    assert repr(layer) == repr(tlayer)


def test_conv_transpose_output_size():
    layer, tlayer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(
        2, 2, 3, stride=2, padding=1)
    tlayer.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    x = _x((1, 2, 4, 4), np.float32)
    for size in [(7, 7), (8, 8), (7, 8), [1, 2, 8, 7]]:
        y, yt = layer(cr.tensor(x), output_size=size), tlayer(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"output_size \(9, 9\) is not reachable .*\[7, 8\]"):
        layer(cr.tensor(x), output_size=(9, 9))


@DTYPES
@pytest.mark.parametrize("args, kw, shape", [
    ((2, 4), {}, (3, 4, 5)),
    ((3, 6), dict(eps=1e-3), (2, 6, 2, 3)),
    ((1, 3), dict(affine=False), (2, 3)),
    ((2, 4), dict(bias=False), (2, 4, 3)),
])
def test_group_norm(dtype, args, kw, shape):
    layer, tlayer = nn.GroupNorm(*args, **kw), torch.nn.GroupNorm(*args, **kw)
    if layer.weight is not None:   # not the initial ones/zeros, so a swapped γ/β shows
        layer.weight.data.copy_(cr.tensor(_x((args[1],), np.float64, 1)))
    if layer.bias is not None:
        layer.bias.data.copy_(cr.tensor(_x((args[1],), np.float64, 2)))
    check_layer(layer, tlayer, _x(shape, dtype))
    assert repr(layer) == repr(tlayer)


@DTYPES
@pytest.mark.parametrize("kw, shape", [
    (dict(scale_factor=2), (2, 3, 4)),
    (dict(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    (dict(scale_factor=1.5, mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    (dict(size=6, mode="linear"), (2, 1, 4)),
    (dict(scale_factor=(2, 3), mode="nearest"), (1, 1, 2, 3)),
])
def test_upsample(dtype, kw, shape):
    check_layer(nn.Upsample(**kw), torch.nn.Upsample(**kw), _x(shape, dtype))


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: nn.GroupNorm(3, 4), ValueError, r"num_channels \(4\) must be divisible by "
                                             r"num_groups \(3\)"),
    (lambda: cr.nn.functional.group_norm(cr.ones(2, 4, 3), 3), ValueError,
     r"group_norm: the number of channels \(4\) of input shape \(2, 4, 3\)"),
    (lambda: cr.group_norm(cr.ones(2, 4), 2, weight=cr.ones(3)), ValueError,
     r"weight must have shape \(4,\)"),
    (lambda: nn.ConvTranspose2d(3, 4, 2, groups=2), ValueError, r"divisible by groups \(2\)"),
    (lambda: cr.conv_transpose1d(cr.ones(1, 2, 3), cr.ones(2, 1, 2), stride=2,
                                 output_padding=2), ValueError,
     r"output_padding \(2,\) must be smaller than stride \(2,\) or dilation \(1,\)"),
    (lambda: cr.conv_transpose2d(cr.ones(1, 3, 3, 3), cr.ones(2, 1, 2, 2)), ValueError,
     r"input has 3 channels but weight shape \(2, 1, 2, 2\)"),
    (lambda: cr.conv_transpose1d(cr.ones(1, 1, 2), cr.ones(1, 1, 1), padding=2), ValueError,
     r"output size \(-2,\) is not positive"),
    (lambda: cr.nn.functional.interpolate(cr.ones(1, 1, 3), size=4, scale_factor=2),
     ValueError, r"exactly one of size or scale_factor"),
    (lambda: cr.nn.functional.interpolate(cr.ones(1, 1, 3), size=4, align_corners=True),
     ValueError, r"align_corners can only be set"),
    (lambda: cr.nn.functional.interpolate(cr.ones(1, 1, 3), size=(4, 4), mode="bilinear"),
     ValueError, r"mode='bilinear' needs a 4-D input .* got shape \(1, 1, 3\)"),
    (lambda: cr.nn.functional.interpolate(cr.ones(1, 1, 3), size=4, mode="bicubic"),
     NotImplementedError, r"mode 'bicubic' is not supported"),
    (lambda: cr.nn.functional.interpolate(cr.ones(1, 1, 3), scale_factor=0.2), ValueError,
     r"gives an empty output"),
])
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_torch_raises_where_we_do():
    """The geometry errors above are PyTorch's too (its messages differ)."""
    F = torch.nn.functional
    with pytest.raises((ValueError, RuntimeError)):
        F.group_norm(torch.ones(2, 4, 3), 3)
    with pytest.raises((ValueError, RuntimeError)):
        F.conv_transpose1d(torch.ones(1, 2, 3), torch.ones(2, 1, 2), stride=2, output_padding=2)
    with pytest.raises((ValueError, RuntimeError)):
        F.interpolate(torch.ones(1, 1, 3), size=4, align_corners=True)
