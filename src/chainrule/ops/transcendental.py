"""More unary float primitives: the inverse trigonometric functions, the hyperbolic sine and
cosine, and the base-10 logarithm. Each states its forward and its local derivative; integer
inputs are promoted to the default float dtype first (as PyTorch does)."""
from __future__ import annotations

import math

from ..autograd.function import Function

_LN10 = math.log(10.0)


class Arcsin(Function):
    """z = asin x;  ∂z/∂x = 1/√(1 − x²)."""
    name = "asin"

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.arcsin(x)

    def backward(self, xp, g):
        x = self.saved[0]
        return (g / xp.sqrt(1 - x * x),)


class Arccos(Function):
    """z = acos x;  ∂z/∂x = −1/√(1 − x²)."""
    name = "acos"

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.arccos(x)

    def backward(self, xp, g):
        x = self.saved[0]
        return (-g / xp.sqrt(1 - x * x),)


class Arctan(Function):
    """z = atan x;  ∂z/∂x = 1/(1 + x²)."""
    name = "atan"

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.arctan(x)

    def backward(self, xp, g):
        x = self.saved[0]
        return (g / (1 + x * x),)


class Sinh(Function):
    """z = sinh x;  ∂z/∂x = cosh x."""

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.sinh(x)

    def backward(self, xp, g):
        return (g * xp.cosh(self.saved[0]),)


class Cosh(Function):
    """z = cosh x;  ∂z/∂x = sinh x."""

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.cosh(x)

    def backward(self, xp, g):
        return (g * xp.sinh(self.saved[0]),)


class Log10(Function):
    """z = log₁₀ x;  ∂z/∂x = 1/(x·ln 10)."""

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.log10(x)

    def backward(self, xp, g):
        return (g / (self.saved[0] * _LN10),)


def _float_unary(cls):
    from .elementwise import _unary
    fn = _unary(cls)
    fn.__name__ = cls.__name__.lower()
    return fn


arcsin = _float_unary(Arcsin)
arccos = _float_unary(Arccos)
arctan = _float_unary(Arctan)
sinh = _float_unary(Sinh)
cosh = _float_unary(Cosh)
log10 = _float_unary(Log10)
