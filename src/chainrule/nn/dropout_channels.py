"""Channel-wise dropout modules Dropout1d/2d/3d: whole channels zeroed with probability p in
training (survivors scaled by 1/(1 − p)); identity in evaluation."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Dropout1d", "Dropout2d", "Dropout3d"]


class _DropoutNd(Module):
    _fn = ""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: probability has to be between 0 and 1, "
                             f"but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Drop channels of (N, C, L) or (C, L)."""

    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """Drop channels of (N, C, H, W)."""

    _fn = "dropout2d"


class Dropout3d(_DropoutNd):
    """Drop channels of (N, C, D, H, W) or (C, D, H, W)."""

    _fn = "dropout3d"
