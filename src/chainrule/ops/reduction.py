"""Reductions: sum, mean, amax/amin, logsumexp, prod; argmax/argmin (not differentiable).

Every reduction's backward puts the gradient back on the reduced axes (re-inserting them when
``keepdims=False``) and broadcasts it to the input's shape.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..autograd.function import Function
from ..axis_sums import mean_over, sum_over
from ..tensor import Tensor
from . import _operands as O


def normalize_axis(axis, ndim: int):
    """A tuple of non-negative axes, or None for all axes."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    n = builtins.max(ndim, 1)
    for a in axes:
        if not -n <= a < n:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for a tensor of dimension "
                                          f"{ndim}")
    return tuple(int(a) % n for a in axes)


def keepdims_shape(shape: tuple, axis) -> tuple:
    """``shape`` with the reduced axes set to 1."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class _Reduction(Function):
    def _setup(self, x, axis, keepdims):
        self.in_shape = x.shape
        self.axis = normalize_axis(axis, x.ndim)
        self.keepdims = keepdims
        return self.axis

    def _expand(self, xp, g):
        """The incoming gradient with the reduced axes restored as size 1."""
        if not self.keepdims:
            g = xp.reshape(g, keepdims_shape(self.in_shape, self.axis))
        return g


class Sum(_Reduction):
    """z = Σᵢ xᵢ;  ∂z/∂xᵢ = 1."""

    def forward(self, xp, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        if axis is not None and len(axis) > 1 and xp is np:
            return sum_over(x, axis, keepdims)
        return xp.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, xp, g):
        return (xp.broadcast_to(self._expand(xp, g), self.in_shape),)


class Mean(_Reduction):
    """z = (1/n) Σᵢ xᵢ;  ∂z/∂xᵢ = 1/n."""

    def forward(self, xp, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        self.count = x.size if axis is None else math.prod([x.shape[a] for a in axis])
        if axis is not None and len(axis) > 1 and xp is np:
            return mean_over(x, axis, keepdims)
        return xp.mean(x, axis=axis, keepdims=keepdims)

    def backward(self, xp, g):
        return (xp.broadcast_to(self._expand(xp, g) / self.count, self.in_shape),)


class Amax(_Reduction):
    """z = max x;  ∂z/∂xᵢ = 1/k for the k elements equal to the maximum, else 0."""

    largest = True

    def forward(self, xp, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        reduce = xp.max if self.largest else xp.min
        out = reduce(x, axis=axis, keepdims=keepdims)
        self.saved = (x, out)
        return out

    def backward(self, xp, g):
        x, out = self.saved
        out_k = self._expand(xp, out)
        mask = x == out_k
        count = xp.sum(mask, axis=self.axis, keepdims=True).astype(g.dtype)
        return (xp.where(mask, self._expand(xp, g) / count, 0),)


class Amin(Amax):
    """z = min x;  ∂z/∂xᵢ = 1/k for the k elements equal to the minimum, else 0."""

    largest = False


class LogSumExp(_Reduction):
    """z = log Σᵢ e^{xᵢ} (computed as m + log Σ e^{xᵢ−m});  ∂z/∂xᵢ = e^{xᵢ−z} = softmax(x)ᵢ."""

    def forward(self, xp, x, axis=None, keepdims=False):
        axis = self._setup(x, axis, keepdims)
        if x.size:
            m = xp.max(x, axis=axis, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
        else:  # an empty sum: log 0 = −∞, as PyTorch (max has no identity to shift by)
            m = xp.zeros(keepdims_shape(x.shape, axis), x.dtype)
        s = xp.sum(xp.exp(x - m), axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            out = xp.log(s) + m
        if not keepdims:
            out = out.reshape(()) if axis is None else xp.squeeze(out, axis=axis)
        self.saved = (x, out)
        return out

    def backward(self, xp, g):
        x, out = self.saved
        return (self._expand(xp, g) * xp.exp(x - self._expand(xp, out)),)


class Prod(_Reduction):
    """z = Πᵢ xᵢ;  ∂z/∂xᵢ = Π_{j≠i} xⱼ (= z/xᵢ when no factor is zero)."""

    def forward(self, xp, x, axis=None, keepdims=False):
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise ValueError("prod: reduce over one axis or all axes")
        axis = self._setup(x, axis, keepdims)
        out = xp.prod(x, axis=axis, keepdims=keepdims)
        self.saved = (x, out)
        return out

    def backward(self, xp, g):
        x, out = self.saved
        gk = self._expand(xp, g)
        xa = x._data if isinstance(x, Tensor) else x
        if not (xa == 0).any():
            return (gk * self._expand(xp, out) / x,)
        # With zeros: the product of the others, from exclusive cumulative products both ways.
        flat = self.axis is None
        a = xa.reshape(-1) if flat else xa
        ax = 0 if flat else self.axis[0]
        ones = np.ones_like(np.take(a, [0], axis=ax))
        left = np.cumprod(np.concatenate([ones, np.delete(a, -1, axis=ax)], axis=ax), axis=ax)
        right = np.flip(np.cumprod(np.concatenate(
            [ones, np.delete(np.flip(a, ax), -1, axis=ax)], axis=ax), axis=ax), ax)
        others = (left * right).reshape(xa.shape)
        return (gk * others,)


def _reduce(cls, x, axis, keepdims):
    if not isinstance(x, Tensor):
        x = O.constant(x)
    return cls.apply(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False, dtype=None):  # noqa: A001 - NumPy's name
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, dtype)
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    if isinstance(x, Tensor) and x._data.dtype.kind not in "fc":
        raise TypeError(f"mean: needs a floating-point tensor, got {np.dtype(x.dtype).name}; cast with .float()")
    return _reduce(Mean, x, axis, keepdims)


def check_nonempty(op: str, shape: tuple, axis) -> None:
    """An extreme (max, min, argmax, median, ...) has no value over an empty axis: PyTorch's
    IndexError (its RuntimeError for a whole empty tensor), naming the op, dim and shape."""
    if 0 not in shape:
        return
    axes = normalize_axis(axis, len(shape))
    if axes is None:
        raise RuntimeError(f"{op}: the tensor of shape {tuple(shape)} is empty; give a dim "
                           "to reduce over a non-empty dimension")
    for a in axes:
        if a < len(shape) and shape[a] == 0:
            raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size, got "
                             f"shape {tuple(shape)}")


def amax(x, axis=None, keepdims=False):
    check_nonempty("amax", np.shape(x), axis)
    return _reduce(Amax, x, axis, keepdims)


def amin(x, axis=None, keepdims=False):
    check_nonempty("amin", np.shape(x), axis)
    return _reduce(Amin, x, axis, keepdims)


max = amax  # noqa: A001 - NumPy's names
min = amin  # noqa: A001


def logsumexp(x, axis=None, keepdims=False):
    return _reduce(LogSumExp, O.float_operand(x), axis, keepdims)


def prod(x, axis=None, keepdims=False):
    return _reduce(Prod, x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    check_nonempty("argmax", data.shape, axis)
    return Tensor._wrap(np.argmax(data, axis=axis, keepdims=keepdims).astype(np.int64), False, None)


def argmin(x, axis=None, keepdims=False):
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    check_nonempty("argmin", data.shape, axis)
    return Tensor._wrap(np.argmin(data, axis=axis, keepdims=keepdims).astype(np.int64), False, None)
