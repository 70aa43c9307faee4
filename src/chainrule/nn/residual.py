"""Residual: a skip connection around a block, y = x + f(x) (or projection(x) + f(x))."""
from __future__ import annotations

from ..tensor import Tensor
from .module import Module

__all__ = ["Residual"]


class Residual(Module):
    """y = x + f(x), or y = P(x) + f(x) with a ``projection`` P (e.g. a 1×1 conv or a Linear)
    when f changes the shape. The identity path gives ∂y/∂x = I + ∂f/∂x, so the gradient reaches
    early layers undiminished however deep the stack. Children are named ``f`` and
    ``projection``."""

    def __init__(self, f: Module, projection: Module | None = None):
        super().__init__()
        self.f = f
        self.projection = projection

    def forward(self, input: Tensor) -> Tensor:
        out = self.f(input)
        skip = input if self.projection is None else self.projection(input)
        if tuple(skip.shape) != tuple(out.shape):
            raise ValueError(f"Residual: the block maps shape {tuple(input.shape)} to "
                             f"{tuple(out.shape)}, but the skip path gives {tuple(skip.shape)}; "
                             "pass a projection that maps the input to the block's output shape")
        return skip + out
