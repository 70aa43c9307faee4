"""Bounded and shrinking activations: hardtanh, relu6, hardsigmoid, softsign, tanhshrink,
logsigmoid, mish — compositions of existing primitives.

The clamped ones (hardtanh, relu6, hardsigmoid) pass the gradient only strictly inside their
bounds, as PyTorch does: on a bound the derivative is 0.
"""
from __future__ import annotations

from ... import ops
from ...api.pointwise import softplus
from ...tensor import Tensor

__all__ = ["hardtanh", "relu6", "hardsigmoid", "softsign", "tanhshrink", "logsigmoid", "mish"]


def _check(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return input.copy_(out) if inplace else out


def _clamped(input: Tensor, lo: float, hi: float) -> Tensor:
    """clip(x, lo, hi) with derivative 1 on lo < x < hi and 0 elsewhere (bounds included)."""
    x = input._data
    inside = (x > lo) & (x < hi)
    return ops.where(inside, input, ops.multiply(ops.clip(input.detach(), lo, hi), 1.0))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """y = clip(x, min_val, max_val);  dy/dx = 1 for min_val < x < max_val, else 0."""
    _check("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _inplace(input, _clamped(input, min_val, max_val), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """y = min(max(x, 0), 6);  dy/dx = 1 for 0 < x < 6, else 0."""
    _check("relu6", input)
    return _inplace(input, _clamped(input, 0.0, 6.0), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """y = clip(x/6 + 1/2, 0, 1);  dy/dx = 1/6 for −3 < x < 3, else 0."""
    _check("hardsigmoid", input)
    out = ops.add(ops.divide(_clamped(input, -3.0, 3.0), 6.0), 0.5)
    return _inplace(input, out, inplace)


def softsign(input: Tensor) -> Tensor:
    """y = x/(1 + |x|);  dy/dx = 1/(1 + |x|)²."""
    _check("softsign", input)
    return ops.divide(input, ops.add(ops.absolute(input), 1.0))


def tanhshrink(input: Tensor) -> Tensor:
    """y = x − tanh x;  dy/dx = tanh² x."""
    _check("tanhshrink", input)
    return ops.subtract(input, ops.tanh(input))


def logsigmoid(input: Tensor) -> Tensor:
    """y = log σ(x) = min(x, 0) − log(1 + e^{−|x|}) (no overflow);  dy/dx = σ(−x)."""
    _check("logsigmoid", input)
    return ops.subtract(ops.minimum(input, 0.0),
                        ops.log1p(ops.exp(ops.negative(ops.absolute(input)))))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x·tanh(softplus(x));  dy/dx = tanh(sp) + x·σ(x)·(1 − tanh²(sp))."""
    _check("mish", input)
    return _inplace(input, ops.multiply(input, ops.tanh(softplus(input))), inplace)
