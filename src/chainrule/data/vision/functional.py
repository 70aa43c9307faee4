"""The image operations behind :mod:`chainrule.data.vision`'s transforms, one function each
(torchvision's ``transforms.functional`` names).

An *image* here is one of three things, and every function returns the kind it was given:

- a Pillow image (``PIL.Image.Image``), the usual output of a decoder;
- a NumPy array laid out as torchvision lays out tensor images: ``(..., C, H, W)``, or ``(H, W)``;
- a chainrule Tensor of the same layout (the result is a new Tensor outside autograd: these are
  data-preparation steps, not part of a model).

Only :func:`to_array` / :func:`to_tensor` read the *picture* layout ``(H, W, C)`` of an array,
as torchvision's ``ToTensor`` does. Resampling goes through Pillow for all three kinds (arrays
channel by channel), so a resized array equals the resized Pillow image; Pillow is imported only
when needed.
"""
from __future__ import annotations

import enum
import numbers
import sys
from typing import Any, Sequence

import numpy as np

from ...tensor import Tensor

__all__ = ["InterpolationMode", "to_array", "to_tensor", "normalize", "resize", "crop",
           "center_crop", "pad", "hflip", "resized_crop", "image_size"]


class InterpolationMode(enum.Enum):
    """Resampling filters, by torchvision's names (each maps onto Pillow's filter)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def pillow(who: str = "chainrule.data.vision"):
    """``PIL.Image``, or an ImportError naming the ``images`` extra."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError(f"{who} needs Pillow to decode and resample images; install it with "
                          f"pip install 'chainrule[images]'") from err
    return Image


def is_pil_image(img: Any) -> bool:
    """True for a Pillow image (without importing Pillow when nothing has)."""
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(img, module.Image)


def _pil_filter(interpolation, who: str = "resize") -> int:
    Image = pillow(who)
    if isinstance(interpolation, str):
        try:
            interpolation = InterpolationMode(interpolation.lower())
        except ValueError:
            raise ValueError(f"unknown interpolation {interpolation!r}; expected one of "
                             f"{[m.value for m in InterpolationMode]}") from None
    if isinstance(interpolation, InterpolationMode):
        name = "NEAREST" if interpolation is InterpolationMode.NEAREST_EXACT else \
            interpolation.name
        return int(getattr(Image.Resampling, name))
    if isinstance(interpolation, numbers.Integral) and int(interpolation) in \
            {int(r) for r in Image.Resampling}:
        return int(interpolation)  # a Pillow constant, as torchvision also accepts
    raise TypeError(f"interpolation must be an InterpolationMode, its name or a Pillow filter, "
                    f"got {interpolation!r}")


def _unwrap(img, who: str) -> tuple[np.ndarray, bool]:
    """The array behind ``img`` (an array or Tensor in the ``(..., H, W)`` layout), and whether
    it was a Tensor."""
    if isinstance(img, Tensor):
        arr, was_tensor = np.asarray(img._data), True
    elif isinstance(img, np.ndarray):
        arr, was_tensor = img, False
    else:
        raise TypeError(f"{who}: expected a PIL image, a NumPy array or a chainrule Tensor, "
                        f"got {type(img).__name__}")
    if arr.ndim < 2:
        raise ValueError(f"{who}: an image array needs at least 2 dimensions (..., H, W), "
                         f"got shape {tuple(arr.shape)}")
    return arr, was_tensor


def _rewrap(arr: np.ndarray, was_tensor: bool):
    return Tensor._wrap(arr, False, None) if was_tensor else arr


def image_size(img) -> tuple[int, int]:
    """``(height, width)`` of a Pillow image, or of an array/Tensor's last two axes."""
    if is_pil_image(img):
        return img.height, img.width
    arr, _ = _unwrap(img, "image_size")
    return int(arr.shape[-2]), int(arr.shape[-1])


def _pair(size, who: str, name: str = "size") -> tuple[int, int]:
    """``(h, w)`` from an int or a sequence of one or two ints."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        h = w = int(size)
    elif isinstance(size, Sequence) and len(size) in (1, 2) and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size):
        h, w = (int(size[0]), int(size[-1]))
    else:
        raise ValueError(f"{who}: {name} must be an int or a sequence of 1 or 2 ints, "
                         f"got {size!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"{who}: {name} must be positive, got {size!r}")
    return h, w


# -- picture → array ----------------------------------------------------------------------------
def to_array(pic) -> np.ndarray:
    """A picture (Pillow image, or array ``(H, W, C)`` / ``(H, W)``) as a ``(C, H, W)`` array:
    ``uint8`` values become float32 ``v / 255`` in [0, 1]; other dtypes keep their values and
    dtype (torchvision's ``ToTensor`` rule). A 1-bit Pillow image reads as 0/1."""
    if is_pil_image(pic):
        arr = np.asarray(pic)
        if pic.mode == "1":
            arr = arr.astype(np.uint8) * np.uint8(255)
    elif isinstance(pic, np.ndarray):
        arr = pic
        if arr.ndim not in (2, 3):
            raise ValueError(f"to_array: a picture array must be (H, W) or (H, W, C), got shape "
                             f"{tuple(arr.shape)}")
    else:
        raise TypeError(f"to_array: expected a PIL image or a NumPy array (H, W, C), got "
                        f"{type(pic).__name__}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return chw.astype(np.float32) / np.float32(255)
    return chw


def to_tensor(pic) -> Tensor:
    """:func:`to_array` wrapped as a chainrule Tensor (``requires_grad=False``)."""
    return Tensor._wrap(to_array(pic), False, None)


def normalize(img, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
    """Per channel ``(x[c] - mean[c]) / std[c]`` on a float ``(..., C, H, W)`` array or Tensor."""
    arr, was_tensor = _unwrap(img, "normalize")
    if arr.dtype.kind != "f":
        raise TypeError(f"normalize: expected a floating-point image, got dtype {np.dtype(arr.dtype).name}; "
                        f"convert with ToTensor/ToArray first")
    if arr.ndim < 3:
        raise ValueError(f"normalize: expected an image of shape (..., C, H, W), got shape "
                         f"{tuple(arr.shape)}")
    mean_a = np.asarray(mean, dtype=arr.dtype).reshape(-1)
    std_a = np.asarray(std, dtype=arr.dtype).reshape(-1)
    channels = arr.shape[-3]
    for name, v in (("mean", mean_a), ("std", std_a)):
        if v.size not in (1, channels):
            raise ValueError(f"normalize: {name} has {v.size} values but the image has "
                             f"{channels} channels (shape {tuple(arr.shape)})")
    if np.any(std_a == 0):
        raise ValueError(f"normalize: std evaluated to zero ({list(std)}), which would divide "
                         f"by zero")
    mean_a, std_a = mean_a[:, None, None], std_a[:, None, None]
    if inplace:
        if not arr.flags.writeable:
            raise ValueError("normalize: inplace=True on a read-only array")
        np.subtract(arr, mean_a, out=arr)
        np.divide(arr, std_a, out=arr)
        return img
    return _rewrap((arr - mean_a) / std_a, was_tensor)


# -- geometry -----------------------------------------------------------------------------------
def _resized_size(height: int, width: int, size, max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int (or 1-sequence) is the shorter side, the longer one scaled by
    ``int(size * long / short)`` and capped by ``max_size``; a pair is ``(h, w)``."""
    single = isinstance(size, numbers.Integral) or (isinstance(size, Sequence) and len(size) == 1)
    if not single:
        if max_size is not None:
            raise ValueError(f"resize: max_size applies only when size is one number, got "
                             f"size={size!r}")
        return _pair(size, "resize")
    short_req = _pair(size, "resize")[0]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = short_req, int(short_req * long / short)
    if max_size is not None:
        if max_size <= short_req:
            raise ValueError(f"resize: max_size ({max_size}) must be larger than the requested "
                             f"shorter side ({short_req})")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _resample_plane(plane: np.ndarray, out_hw: tuple[int, int], resample: int) -> np.ndarray:
    Image = pillow("resize")
    if plane.dtype == np.uint8:
        src = Image.fromarray(np.ascontiguousarray(plane))   # mode L: Pillow's 8-bit path
        return np.asarray(src.resize(out_hw[::-1], resample))
    src = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))
    out = np.asarray(src.resize(out_hw[::-1], resample))
    if plane.dtype.kind in "iu":
        info = np.iinfo(plane.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(plane.dtype)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resample to ``size`` (see :func:`_resized_size`) with Pillow's filter. Pillow always
    antialiases when shrinking, so ``antialias`` is accepted and ignored, as torchvision does
    for Pillow images. Arrays are resampled channel by channel (uint8 exactly as Pillow resizes
    an RGB image; other dtypes in float32)."""
    resample = _pil_filter(interpolation)
    height, width = image_size(img)
    out_hw = _resized_size(height, width, size, max_size)
    if out_hw == (height, width):
        return img.copy() if is_pil_image(img) else img
    if is_pil_image(img):
        return img.resize(out_hw[::-1], resample)
    arr, was_tensor = _unwrap(img, "resize")
    planes = arr.reshape(-1, height, width)
    out = np.stack([_resample_plane(p, out_hw, resample) for p in planes])
    return _rewrap(out.reshape(arr.shape[:-2] + out_hw), was_tensor)


def _padding_ltrb(padding, who: str) -> tuple[int, int, int, int]:
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        values = [int(padding)] * 4
    elif isinstance(padding, Sequence) and len(padding) in (1, 2, 4) and all(
            isinstance(p, numbers.Integral) for p in padding):
        p = [int(v) for v in padding]
        values = p * 4 if len(p) == 1 else [p[0], p[1], p[0], p[1]] if len(p) == 2 else p
    else:
        raise ValueError(f"{who}: padding must be an int or a sequence of 1, 2 or 4 ints "
                         f"(left, top, right, bottom), got {padding!r}")
    if min(values) < 0:
        raise ValueError(f"{who}: padding must be non-negative, got {padding!r}")
    return values[0], values[1], values[2], values[3]


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


def _pad_array(arr: np.ndarray, ltrb, fill, mode: str, channel_axis: int) -> np.ndarray:
    """Pad axes H and W of ``arr``; ``channel_axis`` is where a per-channel fill applies."""
    left, top, right, bottom = ltrb
    h_axis, w_axis = (0, 1) if channel_axis == 2 else (arr.ndim - 2, arr.ndim - 1)
    widths = [(0, 0)] * arr.ndim
    widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
    if mode != "constant":
        return np.pad(arr, widths, mode=_PAD_MODES[mode])
    fill_a = np.asarray(fill if fill is not None else 0)
    if fill_a.size == 1:
        return np.pad(arr, widths, mode="constant", constant_values=fill_a.reshape(()).item())
    if arr.ndim < 3 or fill_a.size != arr.shape[channel_axis]:
        raise ValueError(f"pad: fill has {fill_a.size} values for an image of shape "
                         f"{tuple(arr.shape)}; give one value or one per channel")
    shape = list(arr.shape)
    shape[h_axis] += top + bottom
    shape[w_axis] += left + right
    out = np.empty(shape, dtype=arr.dtype)
    view = [1] * arr.ndim
    view[channel_axis] = -1
    out[...] = fill_a.astype(arr.dtype).reshape(view)
    index = [slice(None)] * arr.ndim
    index[h_axis] = slice(top, top + arr.shape[h_axis])
    index[w_axis] = slice(left, left + arr.shape[w_axis])
    out[tuple(index)] = arr
    return out


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders by ``padding`` (int, ``(lr, tb)`` or ``(l, t, r, b)``): ``constant``
    (``fill``, one value or one per channel), ``edge`` (repeat the last pixel), ``reflect``
    (mirror without the edge pixel), ``symmetric`` (mirror with it)."""
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"pad: padding_mode must be one of {sorted(_PAD_MODES)}, got "
                         f"{padding_mode!r}")
    ltrb = _padding_ltrb(padding, "pad")
    if is_pil_image(img):
        Image = pillow("pad")
        arr = np.asarray(img)
        padded = _pad_array(arr, ltrb, fill, padding_mode, channel_axis=2)
        out = Image.fromarray(padded)
        if img.mode == "P" and img.getpalette() is not None:
            out.putpalette(img.getpalette())
        elif out.mode != img.mode:  # a mode the array's dtype and shape do not name (CMYK)
            out = Image.fromarray(padded, mode=img.mode)
        return out
    arr, was_tensor = _unwrap(img, "pad")
    return _rewrap(_pad_array(arr, ltrb, fill, padding_mode, channel_axis=arr.ndim - 3),
                   was_tensor)


def crop(img, top: int, left: int, height: int, width: int):
    """The window of ``height`` × ``width`` pixels at (``top``, ``left``); parts outside the
    image are zeros (torchvision's rule)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"crop: height and width must be positive, got {height} x {width}")
    if is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    arr, was_tensor = _unwrap(img, "crop")
    h, w = arr.shape[-2:]
    if 0 <= top and 0 <= left and top + height <= h and left + width <= w:
        return _rewrap(arr[..., top:top + height, left:left + width].copy(), was_tensor)
    out = np.zeros(arr.shape[:-2] + (height, width), dtype=arr.dtype)
    src_t, src_l = max(top, 0), max(left, 0)
    src_b, src_r = min(top + height, h), min(left + width, w)
    if src_t < src_b and src_l < src_r:
        out[..., src_t - top:src_b - top, src_l - left:src_r - left] = \
            arr[..., src_t:src_b, src_l:src_r]
    return _rewrap(out, was_tensor)


def center_crop(img, output_size):
    """The central ``output_size`` window: top = round((H - h) / 2), left = round((W - w) / 2)
    (Python's round); an image smaller than the window is padded with zeros first."""
    crop_h, crop_w = _pair(output_size, "center_crop", "output_size")
    height, width = image_size(img)
    if crop_h > height or crop_w > width:
        ltrb = ((crop_w - width) // 2 if crop_w > width else 0,
                (crop_h - height) // 2 if crop_h > height else 0,
                (crop_w - width + 1) // 2 if crop_w > width else 0,
                (crop_h - height + 1) // 2 if crop_h > height else 0)
        img = pad(img, list(ltrb), fill=0)
        height, width = image_size(img)
        if (crop_h, crop_w) == (height, width):
            return img
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def hflip(img):
    """Mirror left to right: ``out[..., i, j] = img[..., i, W - 1 - j]``."""
    if is_pil_image(img):
        return img.transpose(pillow("hflip").Transpose.FLIP_LEFT_RIGHT)
    arr, was_tensor = _unwrap(img, "hflip")
    return _rewrap(arr[..., ::-1].copy(), was_tensor)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """:func:`crop` then :func:`resize` to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)
