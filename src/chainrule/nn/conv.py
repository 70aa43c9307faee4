"""Conv1d and Conv2d layers; the arithmetic is ``chainrule.nn.functional.conv1d/conv2d``.

Weights have PyTorch's layout (out_channels, in_channels/groups, *kernel_size) and PyTorch's
default initialisation (kaiming_uniform_ with a = √5, bias U(±1/√fan_in)).
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .linear import empty_parameter, init_fan_in_uniform
from .module import Module

__all__ = ["Conv1d", "Conv2d"]


def _tuple(v, n: int, what: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


class _ConvNd(Module):
    _dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        super().__init__()
        n, name = self._dims, type(self).__name__
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported, got "
                                      f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid' or ints, got "
                                 f"{padding!r}")
            if padding == "same" and any(s != 1 for s in _tuple(stride, n, "stride")):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = _tuple(stride, n, "stride")
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n, "padding")
        self.dilation = _tuple(dilation, n, "dilation")
        self.padding_mode = padding_mode
        self.weight = empty_parameter((out_channels, in_channels // groups) + self.kernel_size,
                                      dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_fan_in_uniform(self.weight, self.bias)

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _conv(self):
        fn = getattr(F, f"conv{self._dims}d", None)
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__}: chainrule.nn.functional."
                                      f"conv{self._dims}d is not available yet")
        return fn

    def forward(self, input: Tensor) -> Tensor:
        return self._conv()(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D cross-correlation: (N, C_in, L) → (N, C_out, L_out) with
    L_out = ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1."""

    _dims = 1


class Conv2d(_ConvNd):
    """2-D cross-correlation: (N, C_in, H, W) → (N, C_out, H_out, W_out), each spatial size as
    in Conv1d."""

    _dims = 2
