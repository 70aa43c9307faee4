"""Activations of the form x · gate(x): silu (x·σ(x)) and hardswish (x·relu6(x + 3)/6).

Compositions of existing primitives, so their derivatives (and second derivatives) follow from
those of sigmoid, where and the product rule.
"""
from __future__ import annotations

from ... import ops
from ...api.pointwise import sigmoid
from ...tensor import Tensor

__all__ = ["silu", "hardswish"]


def _check(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {str(input.dtype).removeprefix('chainrule.')}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x·σ(x);  dy/dx = σ(x)·(1 + x·(1 − σ(x)))."""
    _check("silu", input)
    return ops.multiply(input, sigmoid(input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x·min(max(x + 3, 0), 6)/6;  dy/dx = 0 for x ≤ −3, x/3 + 1/2 for −3 < x < 3, 1 for
    x ≥ 3 (PyTorch's values on the switch points)."""
    _check("hardswish", input)
    x = input._data
    inner = ops.divide(ops.multiply(input, ops.add(input, 3.0)), 6.0)
    return ops.where(x <= -3, ops.multiply(input, 0.0), ops.where(x >= 3, input, inner))
