"""Binary elementwise primitives (each with its forward and local derivative, micrograd-style)
and the NumPy-named functions for all elementwise ops.

Shapes broadcast as in NumPy; the engine sums each gradient back to its input's shape. Names and
signatures follow NumPy (``multiply``, ``clip``, ``where``) because backward code calls them
through ``xp``; the PyTorch-style public names live in :mod:`chainrule.api`.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..axis_sums import sum_of_products_to_shape, sum_to_shape
from ..autograd.function import Function
from ..tensor import Tensor
from . import _operands as O
from .unary import (Neg, Exp, Log, Log1p, Sqrt, Abs, Sin, Cos, Tanh,  # noqa: F401
                    Sigmoid, Relu, Clip, Erf, Step, Clone, Cast)


# -- binary arithmetic ----------------------------------------------------------------------------
class Add(Function):
    """z = x + y;  ∂z/∂x = 1, ∂z/∂y = 1."""

    def forward(self, xp, x, y):
        return x + y

    def backward(self, xp, g):
        return g, g


class Sub(Function):
    """z = x − y;  ∂z/∂x = 1, ∂z/∂y = −1."""

    def forward(self, xp, x, y):
        return x - y

    def backward(self, xp, g):
        if not self.needs_input_grad[1]:
            return g, None
        try:
            shape = self.inputs[1]._data.shape
        except (AttributeError, TypeError):     # a node rebuilt without inputs (explain)
            shape = g.shape
        if shape != g.shape and not isinstance(g, Tensor):
            return g, -sum_to_shape(g, shape)   # Σ first, then negate the small result
        return g, -g


class Mul(Function):
    """z = x·y;  ∂z/∂x = y, ∂z/∂y = x."""

    def forward(self, xp, x, y):
        self.saved = (x, y)
        return x * y

    def backward(self, xp, g):
        x, y = self.saved
        nx, ny = self.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


class Div(Function):
    """z = x / y;  ∂z/∂x = 1/y, ∂z/∂y = −x/y²."""

    def forward(self, xp, x, y):
        self.saved = (x, y)
        return x / y

    def backward(self, xp, g):
        x, y = self.saved
        nx, ny = self.needs_input_grad
        if ny and y.shape != g.shape and y.ndim == g.ndim and x.shape == g.shape \
                and not isinstance(g, Tensor):
            # a broadcast divisor (√(σ² + ε) of (1, C, 1, 1)): −Σ(g·x)/y², formed on y's shape
            gy = sum_of_products_to_shape(g, x, y.shape)
            gy /= -(y * y)
            return (g / y if nx else None), gy
        return (g / y if nx else None), (-g * x / (y * y) if ny else None)


class Pow(Function):
    """z = x^y;  ∂z/∂x = y·x^(y−1), ∂z/∂y = x^y·ln x (taken as 0 where x = 0 and y ≥ 0)."""

    def forward(self, xp, x, y):
        out = x ** y
        self.saved = (x, y, out)
        return out

    def backward(self, xp, g):
        x, y, out = self.saved
        nx, ny = self.needs_input_grad
        # y·x^(y−1) is 0·(0^−1) = NaN at x = 0, y = 0: PyTorch's derivative there is 0, which
        # y·x^1 gives without computing 0^−1 at all
        gx = g * (y * x ** xp.where(y == 0, 1, y - 1)) if nx else None
        gy = None
        if ny:
            safe = xp.where((x == 0) & (y >= 0), 1, x)
            gy = g * xp.where((x == 0) & (y >= 0), 0, out * xp.log(safe))
        return gx, gy


class PowScalarBase(Function):
    """z = b^y for a constant number b;  ∂z/∂y = b^y·ln b.

    ln b is taken in double precision from the number itself (rounding b to float32 first costs
    ≈ 6e-8/ln b relative: 5e-5 for b = 1.001). For b = 0, where ln b does not exist, the
    derivative is taken as 0 wherever y ≥ 0 (z is 0 for y > 0 and 1 at y = 0)."""

    def forward(self, xp, y, base=1.0):
        self.log_base = _log_number(base)
        self.zero_base = base == 0
        out = xp.power(y.dtype.type(base), y)
        self.saved = (y, out)
        return out

    def backward(self, xp, g):
        y, out = self.saved
        gy = g * (out * self.log_base)
        if self.zero_base:
            gy = xp.where(y >= 0, 0, gy)
        return (gy,)


def _log_number(b) -> float:
    """ln b of a Python number in double precision (NaN for b < 0, −∞ for 0, as NumPy's)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.log(np.float64(b)))


class PowScalar(Function):
    """z = x^p for a constant p;  ∂z/∂x = p·x^(p−1)."""

    def forward(self, xp, x, p):
        self.p = p
        self.saved = (x,)
        return x ** p

    def backward(self, xp, g):
        (x,) = self.saved
        p = self.p
        if p == 0:
            return (xp.zeros_like(g),)
        if isinstance(g, Tensor) or x.shape != g.shape or x.dtype != g.dtype:
            return (g * (p * x ** (p - 1)),)
        d = x * 2 if p == 2 else x ** (p - 1)     # the same roundings, one array
        if p != 2:
            d *= p
        d *= g
        return (d,)


class Maximum(Function):
    """z = max(x, y);  the gradient goes to the larger input, split evenly on ties."""

    def forward(self, xp, x, y):
        self.saved = (x, y)
        return xp.maximum(x, y)

    def backward(self, xp, g):
        x, y = self.saved
        return _tie_split(xp, g, x > y, x == y, self.needs_input_grad)


class Minimum(Function):
    """z = min(x, y);  the gradient goes to the smaller input, split evenly on ties."""

    def forward(self, xp, x, y):
        self.saved = (x, y)
        return xp.minimum(x, y)

    def backward(self, xp, g):
        x, y = self.saved
        return _tie_split(xp, g, x < y, x == y, self.needs_input_grad)


class ClampBounds(Function):
    """z = min(max(x, lo), hi) with tensor bounds (either may be None), PyTorch's rules at
    equality: ∂z/∂x = 1 where lo ≤ x ≤ hi (inclusive); ∂z/∂lo = 1 where x < lo (and lo < hi);
    ∂z/∂hi = 1 where x > hi (or hi < lo, where the result is hi). No split at ties."""

    def forward(self, xp, x, lo=None, hi=None):
        self.saved = (x, lo, hi)
        out = x if lo is None else xp.maximum(x, lo)
        return out if hi is None else xp.minimum(out, hi)

    def backward(self, xp, g):
        x, lo, hi = self.saved
        nx, nlo, nhi = self.needs_input_grad
        if lo is None:
            inside, to_lo, to_hi = x <= hi, None, x > hi
        elif hi is None:
            inside, to_lo, to_hi = x >= lo, x < lo, None
        else:
            inside = (x >= lo) & (x <= hi)
            to_lo, to_hi = (x < lo) & (lo < hi), (x > hi) | (hi < lo)
        zero = xp.zeros_like(g)
        return (xp.where(inside, g, zero) if nx else None,
                xp.where(to_lo, g, zero) if nlo else None,
                xp.where(to_hi, g, zero) if nhi else None)


def _tie_split(xp, g, x_wins, tie, needs):
    half = xp.where(tie, g * 0.5, 0)
    gx = xp.where(x_wins, g, 0) + half if needs[0] else None
    gy = xp.where(x_wins | tie, 0, g) + half if needs[1] else None
    return gx, gy


class Where(Function):
    """z = c ? x : y;  ∂z/∂x = c, ∂z/∂y = ¬c (c is a constant boolean mask)."""

    def forward(self, xp, cond, x, y):
        self.saved = (cond,)
        return xp.where(cond, x, y)

    def backward(self, xp, g):
        (cond,) = self.saved
        _, nx, ny = self.needs_input_grad
        zero = xp.zeros_like(g)
        return (None, xp.where(cond, g, zero) if nx else None,
                xp.where(cond, zero, g) if ny else None)


# -- the NumPy-named functions backward code calls through ``xp`` -----------------------------
def add(x, y):
    return Add._apply2(*O.binary(x, y, "add"))


def subtract(x, y):
    return Sub._apply2(*O.binary(x, y, "sub"))


def multiply(x, y):
    return Mul._apply2(*O.binary(x, y, "mul"))


def divide(x, y):
    x, y = O.binary(x, y, "div")
    if x.dtype.kind not in "fc":
        x, y = O.operand(x, backend.get_default_dtype()), O.operand(y, backend.get_default_dtype())
    return Div._apply2(x, y)


true_divide = divide


def power(x, y):
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        x = O.float_operand(x) if isinstance(y, float) else x
        return PowScalar.apply(x, p=y)
    if isinstance(x, (int, float)) and not isinstance(x, bool) and isinstance(y, Tensor) \
            and (y._data.dtype.kind == "f" or isinstance(x, float)):
        return PowScalarBase.apply(O.float_operand(y, "pow"), base=x)
    return Pow._apply2(*O.binary(x, y, "pow"))


def negative(x):
    return Neg._apply1(x)


def maximum(input, other):
    return Maximum._apply2(*O.binary(input, other, "maximum"))


def minimum(input, other):
    return Minimum._apply2(*O.binary(input, other, "minimum"))


def where(condition, input, other):
    cond = condition._data if isinstance(condition, Tensor) else \
        (condition if backend.is_array(condition) else np.asarray(condition))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    return Where.apply(cond, *O.binary(input, other, "where"))


def _unary(cls):
    name = cls.__name__.lower()

    def fn(input):  # PyTorch's parameter name, so fn(input=t) works as torch's
        return cls._apply1(O.float_operand(input, name))
    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = cls.__doc__
    return fn


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)


def absolute(x):
    return Abs.apply(x if isinstance(x, Tensor) else O.constant(x))


abs = absolute  # noqa: A001 - NumPy's name


def relu(x):
    return Relu._apply1(x)


def step(x):
    return Step.apply(O.float_operand(x))


def clip(x, lo=None, hi=None):
    if isinstance(lo, Tensor) or isinstance(hi, Tensor) or backend.is_array(lo) or \
            backend.is_array(hi):
        for b in (lo, hi):
            if b is not None:
                x, _ = O.binary(x, b, "clamp")
        lo, hi = (None if b is None else O.operand(b, x.dtype) for b in (lo, hi))
        return ClampBounds.apply(x, lo, hi)
    if lo is None and hi is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, lo=lo, hi=hi)


def cast(x, dtype):
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor):
        if x._data.dtype == dtype:
            return x
        if x.requires_grad and dtype.kind not in "fc":
            return Tensor._wrap(x._data.astype(dtype), False, None)
        return Cast.apply(x, dtype=dtype)
    return (x if backend.is_array(x) else np.asarray(x)).astype(dtype)


# -- not differentiable: results are constants ---------------------------------------------------
def sign(x):
    return Tensor._wrap(np.sign(x._data), False, None) if isinstance(x, Tensor) else np.sign(x)


def fresh(x):
    """The result of an op with nothing to do (no padding, one tile, no shift): a new tensor,
    as PyTorch's, never the input itself, which would carry its requires_grad out of no_grad
    and alias it for in-place changes."""
    return Clone.apply(x) if isinstance(x, Tensor) else x.copy()
