"""Per-sample image transforms with torchvision's names and parameters.

Each transform is a callable ``image -> image`` on a Pillow image, a ``(..., C, H, W)`` array or
a chainrule Tensor (see :mod:`chainrule.data.vision.functional`). The random ones draw every
random number from :func:`chainrule.data.sample_generator`, which the DataLoader points at the
stream of (seed, epoch, sample index) before each ``dataset[i]``: a sample is augmented the
same way whichever worker loads it, and however many workers there are.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

import numpy as np

from ..sample_rng import sample_generator
from ..transforms import Compose as _Compose
from . import functional as F
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "ToArray", "Normalize", "Resize", "CenterCrop", "Pad",
           "RandomCrop", "RandomHorizontalFlip", "RandomResizedCrop", "InterpolationMode"]


class Compose(_Compose):
    """Apply transforms in order: ``Compose([f, g])(img) == g(f(img))`` — the same composition
    as the batch transforms' :class:`chainrule.data.transforms.Compose`, printed one transform
    per line as torchvision prints it."""

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToArray:
    """Picture (Pillow image or ``(H, W, C)`` array) → ``(C, H, W)`` NumPy array; uint8 becomes
    float32 ``v / 255`` in [0, 1], other dtypes are kept (as torchvision's ToTensor)."""

    def __call__(self, pic) -> np.ndarray:
        return F.to_array(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor(ToArray):
    """:class:`ToArray`, returning a chainrule Tensor (torchvision's ToTensor)."""

    def __call__(self, pic):
        return F.to_tensor(pic)


class Normalize:
    """Per channel ``(x[c] - mean[c]) / std[c]`` on a float ``(..., C, H, W)`` image."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = [float(v) for v in np.atleast_1d(mean)]
        self.std = [float(v) for v in np.atleast_1d(std)]
        self.inplace = bool(inplace)
        if 0 in self.std:
            raise ValueError(f"Normalize: std must not contain zero, got {self.std}")

    def __call__(self, img):
        return F.normalize(img, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _check_size(size, who: str):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(size)
    if isinstance(size, Sequence) and len(size) in (1, 2):
        return tuple(int(s) for s in size)
    raise TypeError(f"{who}: size must be an int or a sequence of 1 or 2 ints, got {size!r}")


class Resize:
    """Resample to ``size``: an int is the shorter side (the longer one keeps the aspect ratio,
    ``int(size * long / short)``, capped by ``max_size``), a pair is ``(h, w)``."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True):
        self.size = _check_size(size, "Resize")
        F._pil_filter(interpolation, "Resize")  # fail now, not at the first sample
        self.interpolation, self.max_size, self.antialias = interpolation, max_size, antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation}, "
                f"max_size={self.max_size})")


class CenterCrop:
    """The central ``size`` window (zero padding where the image is smaller)."""

    def __init__(self, size):
        self.size = F._pair(_check_size(size, "CenterCrop"), "CenterCrop")

    def __call__(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class Pad:
    """Pad the borders (see :func:`chainrule.data.vision.functional.pad`)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        F._padding_ltrb(padding, "Pad")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {sorted(F._PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomCrop:
    """A ``size`` window at a uniformly drawn position, after optional ``padding``; with
    ``pad_if_needed`` an image smaller than the window is padded (by the shortfall on both
    sides, torchvision's rule) instead of refused."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant"):
        self.size = F._pair(_check_size(size, "RandomCrop"), "RandomCrop")
        if padding is not None:
            F._padding_ltrb(padding, "RandomCrop")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {sorted(F._PAD_MODES)}, "
                             f"got {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, bool(pad_if_needed)
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size, generator: np.random.Generator | None = None
                   ) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a window of ``output_size``, top ~ U{0..H-h}, left ~
        U{0..W-w}, drawn from ``generator`` (default: :func:`sample_generator`)."""
        height, width = F.image_size(img)
        th, tw = F._pair(output_size, "RandomCrop", "output_size")
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: the crop size {(th, tw)} is larger than the image "
                             f"{(height, width)}; pass pad_if_needed=True or padding")
        if (height, width) == (th, tw):
            return 0, 0, height, width
        rng = generator if generator is not None else sample_generator()
        top = int(rng.integers(0, height - th + 1))
        left = int(rng.integers(0, width - tw + 1))
        return top, left, th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        height, width = F.image_size(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        top, left, h, w = self.get_params(img, self.size)
        return F.crop(img, top, left, h, w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left to right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, img):
        return F.hflip(img) if sample_generator().random() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomResizedCrop:
    """A window of random area (fraction ~ U(scale) of the image) and aspect ratio
    (log-uniform in ``ratio``), resized to ``size`` (Inception-style augmentation; torchvision's
    ten tries, then a central crop of the nearest allowed ratio)."""

    def __init__(self, size, scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
        self.size = F._pair(_check_size(size, "RandomResizedCrop"), "RandomResizedCrop")
        if len(scale) != 2 or len(ratio) != 2:
            raise ValueError(f"RandomResizedCrop: scale and ratio must be pairs, got "
                             f"scale={scale!r}, ratio={ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale and ratio must be (min, max), got "
                             f"scale={scale!r}, ratio={ratio!r}")
        if min(scale) <= 0 or min(ratio) <= 0:
            raise ValueError(f"RandomResizedCrop: scale and ratio must be positive, got "
                             f"scale={scale!r}, ratio={ratio!r}")
        F._pil_filter(interpolation, "RandomResizedCrop")
        self.scale, self.ratio = tuple(map(float, scale)), tuple(map(float, ratio))
        self.interpolation, self.antialias = interpolation, antialias

    @staticmethod
    def get_params(img, scale: Sequence[float], ratio: Sequence[float],
                   generator: np.random.Generator | None = None) -> tuple[int, int, int, int]:
        """``(top, left, h, w)``: up to ten draws of area = H·W·U(scale) and aspect
        w/h = exp(U(log ratio)); the first that fits is placed uniformly. Otherwise the whole
        image, cut to the nearest ratio in range, centred."""
        height, width = F.image_size(img)
        rng = generator if generator is not None else sample_generator()
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * float(rng.uniform(scale[0], scale[1]))
            aspect = math.exp(float(rng.uniform(log_ratio[0], log_ratio[1])))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                return top, left, h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        top, left, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, top, left, h, w, self.size, self.interpolation,
                              self.antialias)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, scale={self.scale}, "
                f"ratio={self.ratio}, interpolation={self.interpolation})")
