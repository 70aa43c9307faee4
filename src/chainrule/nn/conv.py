"""Conv1d and Conv2d layers; the arithmetic is ``chainrule.nn.functional.conv1d/conv2d``.

Weights have PyTorch's layout (out_channels, in_channels/groups, *kernel_size) and PyTorch's
default initialisation (kaiming_uniform_ with a = √5, bias U(±1/√fan_in)).
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .linear import empty_parameter, init_fan_in_uniform
from . import placement
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


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
                 device=None, dtype=None):
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
        placement.place_new(self, device)

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


class _ConvTransposeNd(Module):
    """Transposed convolution layers; weight (in_channels, out_channels/groups, *kernel_size),
    initialised as Conv (fan_in = out_channels/groups · Πkernel, PyTorch's convention)."""

    _dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        n, name = self._dims, type(self).__name__
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = _tuple(stride, n, "stride")
        self.padding = _tuple(padding, n, "padding")
        self.output_padding = _tuple(output_padding, n, "output_padding")
        self.dilation = _tuple(dilation, n, "dilation")
        self.padding_mode = padding_mode
        self.weight = empty_parameter((in_channels, out_channels // groups) + self.kernel_size,
                                      dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        placement.place_new(self, device)

    def reset_parameters(self) -> None:
        init_fan_in_uniform(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        n = self._dims
        for what, default in (("padding", 0), ("dilation", 1), ("output_padding", 0)):
            if getattr(self, what) != (default,) * n:
                s += f", {what}={getattr(self, what)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that makes the output ``output_size`` (its last dims), checked to
        lie in the range the geometry allows."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        want = tuple(int(s) for s in output_size)[-n:]
        if len(want) != n:
            raise ValueError(f"{type(self).__name__}: output_size {tuple(output_size)} must "
                             f"name the {n} spatial sizes")
        extra = []
        for m, want_k, k, s, p, d in zip(input.shape[-n:], want, self.kernel_size, self.stride,
                                         self.padding, self.dilation):
            least = (m - 1) * s - 2 * p + d * (k - 1) + 1
            if not least <= want_k < least + max(s, d):
                raise ValueError(f"{type(self).__name__}: output_size {tuple(output_size)} is "
                                 f"not reachable from input shape {tuple(input.shape)}: each "
                                 f"size must lie in [{least}, {least + max(s, d) - 1}]")
            extra.append(want_k - least)
        return tuple(extra)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        fn = getattr(F, f"conv_transpose{self._dims}d")
        return fn(input, self.weight, self.bias, self.stride, self.padding,
                  self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """(N, C_in, L) → (N, C_out, L_out), L_out = (L − 1)·stride − 2·padding + dilation·(k − 1)
    + output_padding + 1: the adjoint of Conv1d in its input."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """(N, C_in, H, W) → (N, C_out, H_out, W_out), each spatial size as in ConvTranspose1d."""

    _dims = 2
