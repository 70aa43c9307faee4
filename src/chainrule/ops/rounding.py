"""Rounding to an integer value, floor and ceil: piecewise constant, so their gradient is zero
(PyTorch's convention, also at the jumps). Integer tensors are returned as copies."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import fresh


class Floor(Function):
    """z = ⌊x⌋;  ∂z/∂x = 0 (everywhere it exists; PyTorch's value at the jumps too)."""

    def forward(self, xp, x):
        return xp.floor(x)

    def backward(self, xp, g):
        return (xp.zeros_like(g),)


class Ceil(Function):
    """z = ⌈x⌉;  ∂z/∂x = 0 (everywhere it exists; PyTorch's value at the jumps too)."""

    def forward(self, xp, x):
        return xp.ceil(x)

    def backward(self, xp, g):
        return (xp.zeros_like(g),)


def _rounding(cls, name: str):
    def fn(input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, not "
                            f"{type(input).__name__}")
        if input._data.dtype.kind not in "fc":
            return fresh(input)      # integers and bools are already whole: a copy, as torch's
        return cls._apply1(input)
    fn.__name__ = name
    fn.__doc__ = cls.__doc__
    return fn


floor = _rounding(Floor, "floor")
ceil = _rounding(Ceil, "ceil")
