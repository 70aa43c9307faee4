"""Pooling layers; the arithmetic is ``chainrule.nn.functional``'s max/avg/adaptive pooling.

Max pooling passes the gradient to the arg-max of each window; average pooling spreads it evenly
over the window; adaptive average pooling picks windows so that the output has a given size.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d"]


def _function(layer: Module, name: str):
    fn = getattr(F, name, None)
    if fn is None:
        raise NotImplementedError(f"{type(layer).__name__}: chainrule.nn.functional.{name} is "
                                  "not available yet")
    return fn


class _MaxPoolNd(Module):
    _fn = ""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        extra = {}
        if self.ceil_mode:
            extra["ceil_mode"] = True
        if self.return_indices:
            extra["return_indices"] = True
        return _function(self, self._fn)(input, self.kernel_size, self.stride, self.padding,
                                         self.dilation, **extra)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """y = the maximum over each window of the last axis; (N, C, L) → (N, C, L_out)."""

    _fn = "max_pool1d"


class MaxPool2d(_MaxPoolNd):
    """y = the maximum over each window of the last two axes; (N, C, H, W) → (N, C, H', W')."""

    _fn = "max_pool2d"


class _AvgPoolNd(Module):
    _fn = ""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        extra = {}
        if self.ceil_mode:
            extra["ceil_mode"] = True
        if not self.count_include_pad:
            extra["count_include_pad"] = False
        if self.divisor_override is not None:
            extra["divisor_override"] = self.divisor_override
        return _function(self, self._fn)(input, self.kernel_size, self.stride, self.padding,
                                         **extra)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """y = the mean over each window of the last axis."""

    _fn = "avg_pool1d"


class AvgPool2d(_AvgPoolNd):
    """y = the mean over each window of the last two axes."""

    _fn = "avg_pool2d"


class _AdaptiveAvgPoolNd(Module):
    _fn = ""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return _function(self, self._fn)(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling whose windows are chosen to give ``output_size`` outputs
    (window i spans ⌊iL/n⌋ … ⌈(i+1)L/n⌉)."""

    _fn = "adaptive_avg_pool1d"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling to ``output_size`` (an int or (H_out, W_out))."""

    _fn = "adaptive_avg_pool2d"
