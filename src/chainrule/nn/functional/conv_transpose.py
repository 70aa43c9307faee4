"""Transposed convolutions with PyTorch's signatures: conv_transpose1d, conv_transpose2d.

A transposed convolution is the adjoint of a convolution in its input: with the conv written as
cols = unfold(x), z = W·cols, the transpose maps y ↦ fold(Wᵀ·y). So its forward is the conv's
input gradient and its backward (Fold's adjoint Unfold, then a GEMM) is the conv's forward; both
come from :mod:`chainrule.ops.conv`, and the result is differentiable to any order. Weight layout
(in_channels, out_channels/groups, *kernel); output size per axis
(n − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1.
"""
from __future__ import annotations

import math

import numpy as np

from ... import ops
from ...ops import conv as C
from ...tensor import Tensor
from .conv import batched, ntuple

__all__ = ["conv_transpose1d", "conv_transpose2d"]


def _check(op, x, weight, bias, groups):
    if not isinstance(weight, Tensor) or weight.ndim != x.ndim:
        raise ValueError(f"{op}: weight must be a {x.ndim}-D Tensor (in_channels, "
                         f"out_channels/groups, *kernel), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        raise TypeError(f"{op}: input ({np.dtype(x.dtype).name}) and weight ({np.dtype(weight.dtype).name}) must have the same "
                        "floating dtype")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    c_in, og = weight.shape[:2]
    if x.shape[1] != c_in or c_in % groups:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but weight shape "
                         f"{tuple(weight.shape)} with groups={groups} needs {c_in} input channels "
                         f"divisible by groups")
    if bias is not None and (not isinstance(bias, Tensor) or tuple(bias.shape) != (og * groups,)):
        raise ValueError(f"{op}: bias must be a Tensor of shape ({og * groups},), got "
                         f"{getattr(bias, 'shape', bias)!r}")


def _conv_transpose(nd: int, op: str, input, weight, bias, stride, padding, output_padding,
                    groups, dilation):
    x, unbatched = batched(input, nd, op)
    _check(op, x, weight, bias, groups)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    padding = ntuple(padding, nd, "padding", op, minimum=0)
    extra = ntuple(output_padding, nd, "output_padding", op, minimum=0)
    for e, s, d in zip(extra, stride, dilation):
        if e >= max(s, d):
            raise ValueError(f"{op}: output_padding {extra} must be smaller than stride {stride} "
                             f"or dilation {dilation}")
    n, c_in = x.shape[:2]
    sizes = tuple(x.shape[2:])
    out = tuple((m - 1) * s - 2 * p + d * (k - 1) + e + 1
                for m, s, p, d, k, e in zip(sizes, stride, padding, dilation, kernel, extra))
    if min(out) <= 0:
        raise ValueError(f"{op}: the output size {out} is not positive (input shape "
                         f"{tuple(input.shape)}, weight {tuple(weight.shape)}, stride {stride}, "
                         f"padding {padding}, dilation {dilation})")
    # Fold adds the columns into a zero array spanning exactly the windows; its pads crop that
    # span to the output: `padding` off the low end, `padding − output_padding` off the high end
    # (and where output_padding exceeds padding, zeros appended past the span).
    pads = tuple((p, max(p - e, 0)) for p, e in zip(padding, extra))
    grow = tuple(max(e - p, 0) for p, e in zip(padding, extra))
    folded = tuple(o - g for o, g in zip(out, grow))
    og = weight.shape[1]
    k = og * math.prod(kernel)
    m = n * math.prod(sizes)
    xr = ops.reshape(ops.transpose(x, (1, 0) + tuple(range(2, 2 + nd))), (groups, c_in // groups, m))
    wr = ops.swapaxes(ops.reshape(weight, (groups, c_in // groups, k)), 1, 2)    # (G, k, C_in/G)
    cols = ops.reshape(ops.matmul(wr, xr), (og * groups,) + kernel + (n,) + sizes)
    y = C.Fold.apply(cols, in_shape=(n, og * groups) + folded, kernel=kernel, stride=stride,
                     dilation=dilation, pads=pads)
    if any(grow):
        y = ops.pad(y, ((0, 0), (0, 0)) + tuple((0, g) for g in grow))
    if bias is not None:
        y = ops.add(y, ops.reshape(bias, (1, og * groups) + (1,) * nd))
    return ops.reshape(y, tuple(y.shape[1:])) if unbatched else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) with weight (C_in, C_out/groups, k): the
    adjoint of conv1d in its input."""
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution of (N, C_in, H, W) with weight (C_in, C_out/groups, kh, kw):
    the adjoint of conv2d in its input."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
