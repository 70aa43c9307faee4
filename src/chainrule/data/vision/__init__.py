"""``chainrule.data.vision``: per-sample image transforms with torchvision's names.

These act on one image at a time (a Pillow image, a ``(C, H, W)`` array or Tensor), unlike
:mod:`chainrule.data.transforms`, which act on whole batches. Random transforms draw from
:func:`chainrule.data.sample_generator`, so an augmented epoch is the same with any number of
loader workers.

    >>> import numpy as np
    >>> from chainrule.data import vision
    >>> t = vision.Compose([vision.ToArray(), vision.Normalize([0.5], [0.5])])
    >>> t(np.full((2, 3), 255, dtype=np.uint8)).tolist()
    [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]
"""
from . import functional
from .functional import InterpolationMode
from .transforms import (Compose, ToTensor, ToArray, Normalize, Resize, CenterCrop, Pad,
                         RandomCrop, RandomHorizontalFlip, RandomResizedCrop)

__all__ = ["functional", "InterpolationMode", "Compose", "ToTensor", "ToArray", "Normalize",
           "Resize", "CenterCrop", "Pad", "RandomCrop", "RandomHorizontalFlip",
           "RandomResizedCrop"]
