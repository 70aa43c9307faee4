"""Batch transforms: ToFloat, Normalize, Flatten, Compose; item and batch agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule.data import Compose, Flatten, Normalize, ToFloat
from chainrule.data.transforms import apply_to_item


def test_to_float_matches_torchvision_scaling():
    x = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    out = ToFloat()(x)
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1
    # torchvision's ToTensor is ``img.float().div(255)``
    np.testing.assert_array_equal(out, torch.from_numpy(x).float().div(255).numpy())
    assert ToFloat()(np.array([[3]], np.int32)).tolist() == [[3.0]]  # other ints: unscaled
    assert ToFloat(np.float64)(x).dtype == np.float64
    with pytest.raises(TypeError, match="ToFloat: dtype must be floating"):
        ToFloat(np.int32)


def test_normalize_scalar_and_per_feature():
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    np.testing.assert_allclose(Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-6)
    mean, std = [0.1, 0.2, 0.3], [1.0, 2.0, 4.0]
    out = Normalize(mean, std)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x - np.float32(mean)) / np.float32(std), rtol=1e-6)


def test_normalize_per_channel_matches_torch():
    x = np.random.default_rng(1).random((4, 3, 5, 5)).astype(np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = Normalize(mean, std, axis=-3)(x)
    t = torch.from_numpy(x)
    want = (t - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-6, atol=1e-7)
    assert out.dtype == np.float32
    # uint8 input is normalised in float32
    assert Normalize(0.0, 1.0)(np.ones((2, 2), np.uint8)).dtype == np.float32


def test_normalize_errors():
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="axis counts from the end"):
        Normalize([0.0], [1.0], axis=1)
    with pytest.raises(ValueError, match=r"do not broadcast against items of shape \(5,\)"):
        Normalize([0.0, 0.0], [1.0, 1.0])(np.zeros((2, 5)))


def test_flatten_and_compose():
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert Flatten()(x).shape == (2, 12)
    assert Flatten()(np.zeros((0, 3, 4))).shape == (0, 12)
    assert Flatten(start_dim=2)(np.zeros((2, 3, 4, 5))).shape == (2, 3, 20)
    pipeline = Compose([ToFloat(), Normalize(0.5, 0.5), Flatten()])
    out = pipeline(x)
    assert out.shape == (2, 12) and out.dtype == np.float32
    np.testing.assert_allclose(out, ((x / np.float32(255) - 0.5) / 0.5).reshape(2, 12),
                               rtol=1e-6)
    # one item is transformed as a batch of one
    np.testing.assert_array_equal(apply_to_item(pipeline, x[1]), out[1])
    with pytest.raises(TypeError, match="Compose: every transform must be callable"):
        Compose([ToFloat(), 3])
    assert "ToFloat" in repr(pipeline)
