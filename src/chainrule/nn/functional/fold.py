"""unfold (im2col) and fold (col2im) with PyTorch's layouts, on the conv machinery's
:class:`~chainrule.ops.conv.Unfold` / :class:`~chainrule.ops.conv.Fold` primitives (adjoints of
each other, so each one's gradient is the other).

unfold: (N, C, H, W) → (N, C·kh·kw, L), column l holding the window at output position l;
fold: (N, C·kh·kw, L) → (N, C, *output_size), overlapping entries summed.
"""
from __future__ import annotations

import math

from ... import ops
from ...ops import conv as C
from ...tensor import Tensor
from .conv import ntuple

__all__ = ["unfold", "fold"]


def _params(op, kernel_size, dilation, padding, stride):
    kernel = ntuple(kernel_size, 2, "kernel_size", op)
    dilation = ntuple(dilation, 2, "dilation", op)
    padding = ntuple(padding, 2, "padding", op, minimum=0)
    stride = ntuple(stride, 2, "stride", op)
    return dict(kernel=kernel, stride=stride, dilation=dilation,
                pads=tuple((p, p) for p in padding))


def _blocks(sizes, params) -> tuple:
    return tuple(C.out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi)
                 in zip(sizes, params["kernel"], params["stride"], params["dilation"],
                        params["pads"]))


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks of a (N, C, H, W) or (C, H, W) input as columns (N, C·Πk, L)."""
    op = "unfold"
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got "
                         f"{tuple(getattr(input, 'shape', ())) or type(input).__name__}")
    unbatched = input.ndim == 3
    x = ops.reshape(input, (1,) + tuple(input.shape)) if unbatched else input
    params = _params(op, kernel_size, dilation, padding, stride)
    out = _blocks(x.shape[2:], params)
    if min(out) <= 0:
        raise ValueError(f"{op}: kernel_size {params['kernel']} (dilation {params['dilation']},"
                         f" padding {padding}) does not fit input of shape "
                         f"{tuple(input.shape)}")
    n, c = x.shape[:2]
    cols = C.Unfold.apply(x, **params)                          # (C, kh, kw, N, oh, ow)
    cols = ops.reshape(cols, (c * math.prod(params["kernel"]), n, math.prod(out)))
    cols = ops.transpose(cols, (1, 0, 2))
    return ops.reshape(cols, tuple(cols.shape[1:])) if unbatched else cols


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C·Πk, L) or (C·Πk, L) back into (N, C, *output_size) (the adjoint of
    unfold)."""
    op = "fold"
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input, got "
                         f"{tuple(getattr(input, 'shape', ())) or type(input).__name__}")
    unbatched = input.ndim == 2
    cols = ops.reshape(input, (1,) + tuple(input.shape)) if unbatched else input
    params = _params(op, kernel_size, dilation, padding, stride)
    size = ntuple(output_size, 2, "output_size", op)
    k = math.prod(params["kernel"])
    n, ck, length = cols.shape
    if ck % k:
        raise ValueError(f"{op}: expected size of input's dimension 1 ({ck}) to be divisible by "
                         f"the product of kernel_size {params['kernel']} ({k})")
    out = _blocks(size, params)
    if min(out) <= 0 or math.prod(out) != length:
        raise ValueError(f"{op}: given output_size={size}, kernel_size={params['kernel']}, "
                         f"dilation={params['dilation']}, padding={padding}, stride="
                         f"{params['stride']}, expected {max(math.prod(out), 0)} blocks in "
                         f"input's dimension 2, got {length} (input shape {tuple(input.shape)})")
    c = ck // k
    g = ops.reshape(ops.transpose(cols, (1, 0, 2)), (c,) + params["kernel"] + (n,) + out)
    y = C.Fold.apply(g, in_shape=(n, c) + size, **params)
    return ops.reshape(y, tuple(y.shape[1:])) if unbatched else y
