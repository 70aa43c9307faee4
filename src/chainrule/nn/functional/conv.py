"""Convolutions and padding with PyTorch's signatures: conv1d, conv2d, pad.

conv: z[n, o, *p] = b[o] + Σ_{c, κ} W[o, c, *κ] · x_pad[n, c_g, *(p·stride + κ·dilation)], with
weight layout (out_channels, in_channels/groups, *kernel) and c_g the channels of o's group.
Computed as im2col + one GEMM per layer (see :mod:`chainrule.ops.conv`); the gradients are the
matching GEMMs and col2im, and are themselves differentiable.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ... import ops
from ...ops import conv as C
from ...ops import math as M
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "pad"]


def ntuple(value, n: int, name: str, op: str, minimum: int = 1) -> tuple:
    """An int or a sequence of n ints, as a tuple of n ints, each at least ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        t = (int(value),) * n
    else:
        try:
            t = tuple(int(v) for v in value)
        except TypeError:
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got "
                            f"{value!r}") from None
        if len(t) == 1:
            t = t * n
        if len(t) != n:
            raise ValueError(f"{op}: {name} must have {n} elements, got {value!r}")
    if any(v < minimum for v in t):
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return t


def batched(input, nd: int, op: str) -> tuple:
    """``input`` with a batch axis (added for unbatched inputs) and whether one was added."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == nd + 1:
        return ops.reshape(input, (1,) + tuple(input.shape)), True
    if input.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got shape {tuple(input.shape)}")
    return input, False


def _conv(nd: int, op: str, input, weight, bias, stride, padding, dilation, groups):
    x, unbatched = batched(input, nd, op)
    if not isinstance(weight, Tensor) or weight.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be a {nd + 2}-D Tensor (out_channels, "
                         f"in_channels/groups, *kernel), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        raise TypeError(f"{op}: input ({np.dtype(x.dtype).name}) and weight ({np.dtype(weight.dtype).name}) must have the same "
                        "floating dtype")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    o, cg = weight.shape[:2]
    c = x.shape[1]
    if cg * groups != c or o % groups:
        raise ValueError(f"{op}: input has {c} channels and weight shape {tuple(weight.shape)} "
                         f"with groups={groups}: need in_channels = weight.shape[1]·groups "
                         f"= {cg * groups} and out_channels divisible by groups")
    if bias is not None and (not isinstance(bias, Tensor) or tuple(bias.shape) != (o,)):
        raise ValueError(f"{op}: bias must be a Tensor of shape ({o},), got "
                         f"{getattr(bias, 'shape', bias)!r}")
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a tuple, got "
                             f"{padding!r}")
    else:
        pads = tuple((p, p) for p in ntuple(padding, nd, "padding", op, minimum=0))
    for n, k, d, (lo, hi) in zip(x.shape[2:], kernel, dilation, pads):
        if n + lo + hi < d * (k - 1) + 1:
            raise ValueError(f"{op}: kernel size {kernel} with dilation {dilation} is larger "
                             f"than the padded input (input shape {tuple(input.shape)}, "
                             f"padding {pads})")
    z = C.convolution(x, weight, bias, stride, pads, dilation, groups)
    return ops.reshape(z, tuple(z.shape[1:])) if unbatched else z


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) of (N, C, L) with weight (O, C/groups, k)."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) with weight (O, C/groups, kh, kw)."""
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
        ) -> Tensor:
    """Pad the last len(pad)/2 dimensions, last dimension first: pad = (left, right, top,
    bottom, …); negative amounts crop. Modes: constant (with ``value``, default 0), reflect,
    replicate, circular. The gradient is the interior (constant) or scatter-adds (others)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: the pad tuple {pad} must have an even length of at most twice "
                         f"the number of dimensions ({input.ndim}) of the input")
    if mode != "constant" and value not in (None, 0, 0.0):
        raise ValueError(f"pad: value is only used with mode='constant', got mode={mode!r}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return M.pad(input, widths, mode=mode, constant_values=0 if value is None else value)
