"""Remainders, rounding to decimals, truncation, atan2, expm1, log2 and the diagonal: primitives
PyTorch programs reach for (issue #18). Each states its forward and local derivative.

The quotient ``q`` a remainder's derivative needs is piecewise constant, so it is kept as a raw
array from the forward pass and the backward reads the same under ``create_graph``.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

_LN2 = math.log(2.0)


class Remainder(Function):
    """z = x − y·⌊x/y⌋ (the sign of y, Python's %);  ∂z/∂x = 1, ∂z/∂y = −⌊x/y⌋."""

    def forward(self, xp, x, y):
        self.q = xp.floor_divide(x, y)
        return xp.remainder(x, y)

    def backward(self, xp, g):
        return g, (-g * self.q if self.needs_input_grad[1] else None)


class Fmod(Function):
    """z = x − y·trunc(x/y) (the sign of x, C's fmod);  ∂z/∂x = 1, ∂z/∂y = −trunc(x/y)."""

    def forward(self, xp, x, y):
        self.q = xp.trunc(x / y)
        return xp.fmod(x, y)

    def backward(self, xp, g):
        return g, (-g * self.q if self.needs_input_grad[1] else None)


class Round(Function):
    """z = x rounded to ``decimals`` places, halves to even;  ∂z/∂x = 0 (PyTorch's convention)."""

    def forward(self, xp, x, decimals=0):
        return xp.round(x, decimals)

    def backward(self, xp, g):
        return (g * 0,)


class Trunc(Function):
    """z = trunc x (towards zero);  ∂z/∂x = 0 (PyTorch's convention)."""

    def forward(self, xp, x):
        return xp.trunc(x)

    def backward(self, xp, g):
        return (g * 0,)


class Atan2(Function):
    """z = atan2(y, x), the angle of (x, y);  ∂z/∂y = x/(x²+y²), ∂z/∂x = −y/(x²+y²)."""

    def forward(self, xp, y, x):
        self.saved = (y, x)
        return xp.arctan2(y, x)

    def backward(self, xp, g):
        y, x = self.saved
        r2 = x * x + y * y
        return g * x / r2, -g * y / r2


class Expm1(Function):
    """z = eˣ − 1 (accurate near 0);  ∂z/∂x = eˣ = z + 1."""

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.expm1(x)

    def backward(self, xp, g):
        return (g * xp.exp(self.saved[0]),)


class Log2(Function):
    """z = log₂ x;  ∂z/∂x = 1/(x·ln 2)."""

    def forward(self, xp, x):
        self.saved = (x,)
        return xp.log2(x)

    def backward(self, xp, g):
        return (g / (self.saved[0] * _LN2),)


def _embed(v, k: int, shape: tuple):
    """A zero matrix of ``shape`` with ``v`` on its k-th diagonal (raw arrays)."""
    xp = backend.get_array_module(v)
    out = xp.zeros(shape, dtype=v.dtype)
    rows = xp.arange(v.shape[0]) + max(-k, 0)
    out[rows, rows + k] = v
    return out


class DiagEmbed(Function):
    """z = the square matrix with vector x on diagonal k;  ∂L/∂x = diagonal k of ∂L/∂z."""

    name = "diag_embed"

    def forward(self, xp, x, diagonal=0):
        n = x.shape[0] + abs(diagonal)
        self.k = diagonal
        return _embed(x, diagonal, (n, n))

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (DiagPart.apply(g, diagonal=self.k),)
        return (g.diagonal(self.k).copy(),)


class DiagPart(Function):
    """z = diagonal k of matrix x;  ∂L/∂x = a zero matrix with ∂L/∂z on diagonal k."""

    name = "diagonal"

    def forward(self, xp, x, diagonal=0):
        self.k, self.shape = diagonal, x.shape
        return x.diagonal(diagonal).copy()

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (_EmbedInto.apply(g, diagonal=self.k, shape=self.shape),)
        return (_embed(g, self.k, self.shape),)


class _EmbedInto(Function):
    """z = a zero matrix of a given shape with x on diagonal k;  ∂L/∂x = that diagonal of ∂L/∂z
    (DiagPart's backward, differentiable for higher derivatives)."""

    name = "diagonal_backward"

    def forward(self, xp, x, diagonal=0, shape=()):
        self.k = diagonal
        return _embed(x, diagonal, shape)

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (DiagPart.apply(g, diagonal=self.k),)
        return (g.diagonal(self.k).copy(),)
