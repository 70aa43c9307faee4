"""chainrule.data.vision: deterministic transforms against Pillow + NumPy references (torchvision
is not a dependency; its rules are spelled out in the expected values), random transforms for
reproducibility per (seed, epoch, index) and for their distributions."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image

from chainrule.data.sample_rng import using_sample_stream
from chainrule.data import vision as V
from chainrule.data.vision import functional as F
from chainrule.tensor import Tensor


def _rgb(h=6, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# -- ToArray / ToTensor ---------------------------------------------------------------------------
@settings(deadline=None, max_examples=20)
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.sampled_from([1, 3, 4]))
def test_to_array_uint8_matches_torch_formula(h, w, c):
    pic = np.random.default_rng(h * 100 + w * 10 + c).integers(0, 256, (h, w, c), np.uint8)
    out = V.ToArray()(pic)
    expected = torch.from_numpy(pic).permute(2, 0, 1).to(torch.float32).div(255).numpy()
    assert out.dtype == np.float32 and out.shape == (c, h, w)
    np.testing.assert_array_equal(out, expected)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_to_tensor_from_pil_rgb_gray_and_1bit():
    pic = _rgb()
    t = V.ToTensor()(Image.fromarray(pic))
    assert isinstance(t, Tensor) and not t.requires_grad
    np.testing.assert_array_equal(t._data, pic.transpose(2, 0, 1).astype(np.float32) / 255)
    gray = pic[:, :, 0]
    np.testing.assert_array_equal(V.ToArray()(Image.fromarray(gray)),
                                  gray[None].astype(np.float32) / 255)
    bits = Image.fromarray(gray > 127)
    assert bits.mode == "1"
    np.testing.assert_array_equal(V.ToArray()(bits), (gray > 127)[None].astype(np.float32))


def test_to_array_keeps_non_uint8_values_and_dtype():
    arr = np.linspace(0, 3, 12, dtype=np.float64).reshape(2, 2, 3)
    out = V.ToArray()(arr)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, arr.transpose(2, 0, 1))
    assert V.ToArray()(np.zeros((2, 3), np.uint8)).shape == (1, 2, 3)


def test_to_array_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(H, W, C\).*shape \(1, 2, 3, 4\)"):
        V.ToArray()(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="PIL image or a NumPy array.*Tensor"):
        V.ToTensor()(Tensor(np.zeros((3, 2, 2), np.float32)))


# -- Normalize -----------------------------------------------------------------------------------
def test_normalize_matches_torch_and_keeps_kind():
    x = np.random.default_rng(1).random((3, 4, 5), dtype=np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    expected = ((torch.from_numpy(x) - torch.tensor(mean)[:, None, None])
                / torch.tensor(std)[:, None, None]).numpy()
    out = V.Normalize(mean, std)(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    t = V.Normalize(mean, std)(Tensor(x))
    assert isinstance(t, Tensor)
    np.testing.assert_allclose(t._data, expected, rtol=1e-6, atol=1e-6)
    y = x.copy()
    assert V.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    batch = np.stack([x, x])  # (..., C, H, W)
    np.testing.assert_allclose(V.Normalize(mean, std)(batch)[1], expected, rtol=1e-6,
                               atol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError, match="floating-point.*uint8"):
        V.Normalize([0.5], [0.5])(np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="2 values but the image has 3 channels"):
        V.Normalize([0.5, 0.5], [1, 1])(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="zero"):
        V.Normalize([0.5], [0.0])
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        V.Normalize([0.5], [0.5])(np.zeros((2, 2), np.float32))


# -- Resize --------------------------------------------------------------------------------------
@pytest.mark.parametrize("hw, size, max_size, expected", [
    ((20, 30), 10, None, (10, 15)),        # shorter side is the height
    ((31, 17), 8, None, (14, 8)),          # int(8 * 31 / 17) = 14
    ((20, 30), (7, 9), None, (7, 9)),      # a pair is (h, w)
    ((20, 30), [10], None, (10, 15)),      # a 1-sequence is an int
    ((20, 60), 10, 20, (6, 20)),           # longer side capped: short = int(20 * 10 / 30)
    ((16, 16), 16, None, (16, 16)),
])
def test_resize_output_size_rule(hw, size, max_size, expected):
    img = Image.fromarray(_rgb(*hw))
    out = V.Resize(size, max_size=max_size)(img)
    assert (out.height, out.width) == expected
    arr_out = V.Resize(size, max_size=max_size)(_rgb(*hw).transpose(2, 0, 1))
    assert arr_out.shape == (3,) + expected


@pytest.mark.parametrize("interp, pil", [(V.InterpolationMode.BILINEAR, Image.BILINEAR),
                                         ("bicubic", Image.BICUBIC),
                                         (V.InterpolationMode.NEAREST, Image.NEAREST),
                                         (Image.LANCZOS, Image.LANCZOS)])
def test_resize_equals_pillow_for_images_arrays_and_tensors(interp, pil):
    pic = _rgb(13, 21, seed=3)
    ref = np.asarray(Image.fromarray(pic).resize((12, 7), pil))  # Pillow takes (w, h)
    out = V.Resize((7, 12), interpolation=interp)(Image.fromarray(pic))
    np.testing.assert_array_equal(np.asarray(out), ref)
    chw = V.Resize((7, 12), interpolation=interp)(pic.transpose(2, 0, 1))
    assert chw.dtype == np.uint8
    np.testing.assert_array_equal(chw, ref.transpose(2, 0, 1))
    flt = pic.transpose(2, 0, 1).astype(np.float32) / 255
    t = V.Resize((7, 12), interpolation=interp)(Tensor(flt))
    assert isinstance(t, Tensor) and t._data.dtype == np.float32
    plane_ref = np.asarray(Image.fromarray(flt[1]).resize((12, 7), pil))
    np.testing.assert_allclose(t._data[1], plane_ref, rtol=1e-6, atol=1e-7)


def test_resize_bad_arguments():
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        V.Resize(4, interpolation="cubic")
    with pytest.raises(TypeError, match="size must be an int"):
        V.Resize("big")
    with pytest.raises(ValueError, match="max_size applies only"):
        V.Resize((3, 4), max_size=10)(Image.fromarray(_rgb()))
    with pytest.raises(TypeError, match="PIL image, a NumPy array or a chainrule Tensor"):
        V.Resize(4)([[1, 2], [3, 4]])


# -- CenterCrop, Pad -----------------------------------------------------------------------------
@settings(deadline=None, max_examples=25)
@given(h=st.integers(1, 9), w=st.integers(1, 9), ch=st.integers(1, 9), cw=st.integers(1, 9))
def test_center_crop_position_and_padding(h, w, ch, cw):
    arr = np.arange(3 * h * w, dtype=np.int32).reshape(3, h, w) + 1   # no zeros inside
    out = V.CenterCrop((ch, cw))(arr)
    assert out.shape == (3, ch, cw)
    if ch <= h and cw <= w:
        top, left = int(round((h - ch) / 2)), int(round((w - cw) / 2))  # Python's round
        np.testing.assert_array_equal(out, arr[:, top:top + ch, left:left + cw])
    else:
        assert (out != 0).sum() == 3 * min(h, ch) * min(w, cw)  # the rest is zero padding
    pil = V.CenterCrop((ch, cw))(Image.fromarray(arr[0].astype(np.uint8)))
    np.testing.assert_array_equal(np.asarray(pil), out[0].astype(np.uint8))


def test_center_crop_rounds_half_to_even():
    arr = np.arange(5 * 5).reshape(1, 5, 5)
    np.testing.assert_array_equal(V.CenterCrop(2)(arr), arr[:, 2:4, 2:4])  # round(1.5) == 2
    arr = np.arange(3 * 3).reshape(1, 3, 3)
    np.testing.assert_array_equal(V.CenterCrop(2)(arr), arr[:, 0:2, 0:2])  # round(0.5) == 0


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_modes_match_numpy_for_arrays_and_pillow(mode):
    pic = _rgb(4, 5, seed=4)
    ltrb = (1, 2, 3, 0)
    widths = ((2, 0), (1, 3), (0, 0))
    kw = {"constant_values": 7} if mode == "constant" else {}
    ref = np.pad(pic, widths, mode=mode, **kw)
    out = V.Pad(ltrb, fill=7, padding_mode=mode)(Image.fromarray(pic))
    assert out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out), ref)
    chw = V.Pad(ltrb, fill=7, padding_mode=mode)(pic.transpose(2, 0, 1))
    np.testing.assert_array_equal(chw, ref.transpose(2, 0, 1))


def test_pad_per_channel_fill_and_errors():
    chw = np.zeros((3, 2, 2), np.uint8)
    out = V.Pad(1, fill=(1, 2, 3))(chw)
    assert out.shape == (3, 4, 4)
    np.testing.assert_array_equal(out[:, 0, 0], [1, 2, 3])
    np.testing.assert_array_equal(out[:, 1:3, 1:3], 0)
    pil = V.Pad([1, 2], fill=(9, 8, 7))(Image.fromarray(chw.transpose(1, 2, 0)))
    assert pil.size == (4, 6)
    assert pil.getpixel((0, 0)) == (9, 8, 7)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        V.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="non-negative"):
        V.Pad(-1)
    with pytest.raises(ValueError, match="fill has 2 values"):
        V.Pad(1, fill=(1, 2))(chw)


# -- random transforms ---------------------------------------------------------------------------
def _locate(window: np.ndarray, image: np.ndarray) -> tuple[int, int]:
    """Top-left of ``window`` in an image of distinct values (channel 0)."""
    hits = np.argwhere(image[0] == window[0, 0, 0])
    assert len(hits) == 1
    return int(hits[0][0]), int(hits[0][1])


def test_random_crop_reproducible_per_sample_and_within_bounds():
    img = np.arange(2 * 10 * 12, dtype=np.int32).reshape(2, 10, 12)
    crop = V.RandomCrop((4, 5))
    seen = set()
    for index in range(300):
        with using_sample_stream(7, 0, index):
            a = crop(img)
        with using_sample_stream(7, 0, index):
            b = crop(img)
        np.testing.assert_array_equal(a, b)
        top, left = _locate(a, img)
        assert 0 <= top <= 6 and 0 <= left <= 7
        np.testing.assert_array_equal(a, img[:, top:top + 4, left:left + 5])
        seen.add((top, left))
    assert len(seen) == 7 * 8  # every position is drawn (300 draws over 56 positions)
    epoch0, epoch1 = [], []
    for index in range(20):  # another epoch draws afresh for the same samples
        with using_sample_stream(7, 0, index):
            epoch0.append(_locate(crop(img), img))
        with using_sample_stream(7, 1, index):
            epoch1.append(_locate(crop(img), img))
    assert sum(a != b for a, b in zip(epoch0, epoch1)) > 10


def test_random_transforms_outside_a_loader_follow_manual_seed():
    import chainrule
    img = np.arange(20 * 20).reshape(1, 20, 20)
    chainrule.manual_seed(11)
    first = [V.RandomCrop(4)(img)[0, 0, 0] for _ in range(5)]
    chainrule.manual_seed(11)
    again = [V.RandomCrop(4)(img)[0, 0, 0] for _ in range(5)]
    assert first == again and len(set(first)) > 1


def test_random_crop_streams_differ_between_samples():
    img = np.arange(30 * 30, dtype=np.int32).reshape(1, 30, 30)
    starts = []
    for index in range(20):
        with using_sample_stream(1, 0, index):
            starts.append(int(V.RandomCrop(3)(img)[0, 0, 0]))
    assert len(set(starts)) > 10


def test_random_crop_padding_and_pad_if_needed():
    img = np.arange(1, 1 + 3 * 3, dtype=np.int32).reshape(1, 3, 3)
    with using_sample_stream(0, 0, 0):
        out = V.RandomCrop(3, padding=2)(img)
    assert out.shape == (1, 3, 3)
    padded = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    assert any(np.array_equal(out, padded[:, t:t + 3, l:l + 3])
               for t in range(5) for l in range(5))
    with using_sample_stream(0, 0, 1):
        big = V.RandomCrop((5, 4), pad_if_needed=True, fill=-1)(img)
    assert big.shape == (1, 5, 4) and np.count_nonzero(big == -1) >= 20 - 9
    with pytest.raises(ValueError, match=r"crop size \(5, 5\) is larger than the image "
                                         r"\(3, 3\).*pad_if_needed"):
        V.RandomCrop(5)(img)
    pil = Image.fromarray(_rgb(6, 6))
    with using_sample_stream(0, 0, 2):
        assert V.RandomCrop(4, padding=1, padding_mode="reflect")(pil).size == (4, 4)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_random_horizontal_flip_rate(p):
    img = np.arange(6).reshape(1, 2, 3)
    flips = 0
    n = 2000
    for index in range(n):
        with using_sample_stream(3, 0, index):
            out = V.RandomHorizontalFlip(p)(img)
        if np.array_equal(out, img[..., ::-1]):
            flips += 1
        else:
            np.testing.assert_array_equal(out, img)
    assert abs(flips / n - p) < 0.05  # sd of the rate is 0.01 at p = 0.3
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        V.RandomHorizontalFlip(1.5)


def test_hflip_pillow_equals_array():
    pic = _rgb(3, 5)
    np.testing.assert_array_equal(np.asarray(F.hflip(Image.fromarray(pic))), pic[:, ::-1])
    t = F.hflip(Tensor(pic.transpose(2, 0, 1).astype(np.float32)))
    assert isinstance(t, Tensor)
    np.testing.assert_array_equal(t._data, pic.transpose(2, 0, 1)[..., ::-1])


def test_random_resized_crop_params_within_scale_and_ratio():
    rng = np.random.default_rng(0)
    img = np.zeros((1, 60, 80), np.uint8)
    scale, ratio = (0.2, 0.6), (0.5, 2.0)
    for _ in range(400):
        top, left, h, w = V.RandomResizedCrop.get_params(img, scale, ratio, generator=rng)
        assert 0 <= top and top + h <= 60 and 0 <= left and left + w <= 80
        # w, h are rounded from the drawn real values, so allow a pixel's slack on each side
        assert scale[0] * 4800 - (w + h + 1) <= h * w <= scale[1] * 4800 + (w + h + 1)
        assert ratio[0] - 1 / h - 1e-9 <= w / h <= ratio[1] + 2 / h
    with using_sample_stream(5, 2, 9):
        a = V.RandomResizedCrop(16)(Image.fromarray(_rgb(40, 50)))
    with using_sample_stream(5, 2, 9):
        b = V.RandomResizedCrop(16)(Image.fromarray(_rgb(40, 50)))
    assert a.size == (16, 16)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_random_resized_crop_fallback_is_central():
    img = np.zeros((1, 10, 40), np.uint8)   # ratio 4 > 4/3: the fallback keeps the height
    # a scale no window can reach forces the fallback after ten tries
    assert V.RandomResizedCrop.get_params(img, (5.0, 6.0), (0.75, 4 / 3),
                                          np.random.default_rng(0)) == (0, 13, 10, 13)
    square = np.zeros((1, 8, 8), np.uint8)
    assert V.RandomResizedCrop.get_params(square, (5.0, 6.0), (0.75, 4 / 3),
                                          np.random.default_rng(0)) == (0, 0, 8, 8)
    with pytest.raises(ValueError, match=r"\(min, max\)"):
        V.RandomResizedCrop(8, scale=(1.0, 0.5))


def test_compose_runs_in_order_and_checks_callables():
    pipeline = V.Compose([V.Resize(4), V.CenterCrop(4), V.ToArray(),
                          V.Normalize([0.5] * 3, [0.5] * 3)])
    out = pipeline(Image.fromarray(_rgb(8, 12)))
    assert out.shape == (3, 4, 4) and out.dtype == np.float32
    assert -1.0 <= out.min() and out.max() <= 1.0
    assert "Resize" in repr(pipeline)
    with pytest.raises(TypeError, match="callable, got int"):
        V.Compose([V.ToArray(), 3])


def test_vision_importable_from_chainrule_data():
    import chainrule.data
    assert chainrule.data.vision.RandomCrop is V.RandomCrop
    assert math.isclose(V.RandomResizedCrop(3).ratio[1], 4 / 3)
