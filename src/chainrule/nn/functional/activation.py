"""softmax and log_softmax as fused primitives (stable at any logit size), softmin and prelu.

Both subtract the row maximum before exponentiating, so logits of size 1e4 (or 1e30) never
overflow: softmax(x) = e^{x−m} / Σ e^{x−m} with m = max x. Their backward rules are written once
against ``xp`` and read only the op's own output, so ``create_graph=True`` differentiates them again.
"""
from __future__ import annotations

import warnings

from ... import ops
from ...autograd.function import Function
from ...ops import _operands as O
from ...api._args import normalize_dim
from ...tensor import Tensor

__all__ = ["softmax", "log_softmax", "softmin", "prelu"]


def _log_softmax_raw(xp, x, axis: int):
    """x − logsumexp(x) along ``axis``, with the maximum subtracted first (works on arrays and,
    through ``ops``, on Tensors)."""
    m = xp.max(x, axis=axis, keepdims=True)
    shifted = x - m
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


class Softmax(Function):
    """s = e^{x−m} / Σⱼ e^{xⱼ−m} along an axis;  ∂L/∂x = s ⊙ (g − Σⱼ gⱼsⱼ)."""

    def forward(self, xp, x, axis=-1):
        self.axis = axis
        if x.size == 0:  # nothing to normalise (and no maximum to shift by): an empty result
            e = x.copy()
        else:
            e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
            e /= xp.sum(e, axis=axis, keepdims=True)
        self.save(e)
        return e

    def backward(self, xp, g):
        (s,) = self.saved
        return (s * (g - xp.sum(g * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x − m − log Σⱼ e^{xⱼ−m} along an axis;  ∂L/∂x = g − e^{y} · Σⱼ gⱼ."""

    def forward(self, xp, x, axis=-1):
        self.axis = axis
        out = _log_softmax_raw(xp, x, axis) if x.size else x.copy()   # empty: an empty result
        self.save(out)
        return out

    def backward(self, xp, g):
        (y,) = self.saved
        return (g - xp.exp(y) * xp.sum(g, axis=self.axis, keepdims=True),)


def _softmax_dim(name: str, ndim: int, dim):
    """PyTorch's legacy choice when ``dim`` is not given (with its warning): 0 for 0-, 1- and
    3-D inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim=", UserWarning,
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(name: str, input, dim, dtype):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = ops.cast(input, dtype)
    elif input.dtype.kind != "f":       # PyTorch refuses integer and bool inputs without dtype=
        raise NotImplementedError(f"{name}: not implemented for {str(input.dtype).removeprefix('chainrule.')} input; pass a "
                                  "floating input or dtype=chainrule.float32")
    input = O.float_operand(input)
    return input, normalize_dim(_softmax_dim(name, input.ndim, dim), input.ndim, name)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(x)ᵢ = e^{xᵢ} / Σⱼ e^{xⱼ} along ``dim`` (fused, max-shifted: finite for any logits).
    ``_stacklevel`` is unused; it holds PyTorch's third place so a positional ``dtype`` is not
    read from it."""
    input, dim = _prepare("softmax", input, dim, dtype)
    if input.ndim == 0:
        return Softmax.apply(ops.reshape(input, (1,)), axis=0).reshape(())
    return Softmax.apply(input, axis=dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None
                ) -> Tensor:
    """log softmax(x)ᵢ = xᵢ − log Σⱼ e^{xⱼ} along ``dim`` (fused and stable)."""
    input, dim = _prepare("log_softmax", input, dim, dtype)
    if input.ndim == 0:
        return LogSoftmax.apply(ops.reshape(input, (1,)), axis=0).reshape(())
    return LogSoftmax.apply(input, axis=dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmin(x) = softmax(−x) along ``dim``."""
    input, dim = _prepare("softmin", input, dim, dtype)
    return softmax(ops.negative(input), dim)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """y = max(0, x) + a·min(0, x), with one slope ``a`` per channel (dim 1) or one shared;
    ∂y/∂x = 1 or a, ∂y/∂a = min(0, x)."""
    n = weight.numel()
    if n != 1:
        if input.ndim < 2 or input.shape[1] != n:
            raise ValueError(f"prelu: {n} slopes need an input with {n} channels in dim 1, got "
                             f"shape {tuple(input.shape)}")
        weight = ops.reshape(weight, (n,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = ops.reshape(weight, ())
    return ops.where(input._data > 0, input, ops.multiply(input, weight))
