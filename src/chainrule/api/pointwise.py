"""Pointwise functions with PyTorch's names: arithmetic, transcendental, activations, comparisons.

Activations that are not primitives are compositions, and each docstring gives the formula:
``leaky_relu``, ``elu``, ``gelu``, ``softplus``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, ops
from ..autograd.record import _active as _recording
from ..ops import _operands as O
from ..ops.unary import Sign, Softplus
from ..tensor import Tensor

__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
    "negative", "pow", "exp", "log", "log1p", "sqrt", "rsqrt", "square", "abs", "sign", "clamp",
    "clip", "maximum", "minimum", "where", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu",
    "elu", "gelu", "softplus", "step", "erf", "eq", "ne", "lt", "le", "gt", "ge", "isnan",
    "isfinite", "isinf", "logical_and", "logical_or", "logical_not",
]


def add(input, other, *, alpha=1):
    """input + alpha·other."""
    return ops.add(input, other if alpha == 1 else ops.multiply(other, alpha))


def sub(input, other, *, alpha=1):
    """input − alpha·other."""
    return ops.subtract(input, other if alpha == 1 else ops.multiply(other, alpha))


subtract = sub


def mul(input, other):
    return ops.multiply(input, other)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """input / other (true division; 'floor' and 'trunc' modes give constants)."""
    if rounding_mode is None:
        return ops.divide(input, other)
    a, b = (x._data if isinstance(x, Tensor) else x for x in (input, other))
    if rounding_mode == "floor":
        return Tensor._wrap(backend.as_result(np.floor_divide(a, b)), False, None)
    if rounding_mode == "trunc":
        q = np.trunc(np.true_divide(a, b))
        return Tensor._wrap(backend.as_result(q.astype(np.result_type(*(
            x.dtype if backend.is_array(x) else x for x in (a, b))))), False, None)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


divide = true_divide = div


def neg(input):
    return ops.negative(input)


negative = neg


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """input ** exponent (scalar or tensor exponent; a scalar base with a tensor exponent too)."""
    if isinstance(input, (int, float)) and isinstance(exponent, Tensor):
        return ops.power(input, exponent)   # ln(base) in double precision for the gradient
    if not isinstance(input, Tensor):
        return ops.power(O.constant(input, getattr(exponent, "dtype", None)), exponent)
    return ops.power(input, exponent)


exp = ops.exp
log = ops.log
log1p = ops.log1p
sqrt = ops.sqrt
sin = ops.sin
cos = ops.cos
tanh = ops.tanh
sigmoid = ops.sigmoid
erf = ops.erf
relu = ops.relu
step = ops.step
maximum = ops.maximum
minimum = ops.minimum
where = ops.where


def rsqrt(input):
    """1/√x."""
    return ops.power(O.float_operand(input), -0.5)


def square(input):
    return ops.multiply(input, input)


def abs(input):  # noqa: A001
    return ops.absolute(input)


def sign(input):
    """−1, 0 or 1 by the sign of each entry; differentiable with a zero gradient (as in PyTorch,
    so ``x.sign().sum().backward()`` gives zeros rather than an error)."""
    if isinstance(input, Tensor) and input.requires_grad:
        return Sign.apply(input)
    return ops.sign(input)


def clamp(input, min=None, max=None):  # noqa: A002
    """min(max(input, min), max); bounds may be numbers or tensors. ∂/∂input = 1 inside the
    bounds (inclusive), 0 outside."""
    return ops.clip(input, min, max)


clip = clamp


def leaky_relu(input, negative_slope: float = 0.01):
    """x if x > 0 else slope·x;  derivative 1 or slope."""
    return ops.where(input._data > 0, input, ops.multiply(input, negative_slope))


def elu(input, alpha: float = 1.0):
    """x if x > 0 else α(eˣ − 1);  derivative 1 or α·eˣ."""
    # clip, not minimum: minimum splits the gradient at x = 0, PyTorch's derivative there is α
    neg_part = ops.multiply(ops.subtract(ops.exp(ops.clip(input, hi=0.0)), 1.0), alpha)
    return ops.where(input._data > 0, input, neg_part)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate: str = "none"):
    """x·Φ(x) = ½x(1 + erf(x/√2)); with approximate='tanh', ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "tanh":
        inner = ops.multiply(ops.add(input, ops.multiply(ops.power(input, 3), 0.044715)),
                             _SQRT_2_OVER_PI)
        return ops.multiply(ops.multiply(input, 0.5), ops.add(ops.tanh(inner), 1.0))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.multiply(ops.multiply(input, 0.5),
                        ops.add(ops.erf(ops.multiply(input, 1.0 / math.sqrt(2.0))), 1.0))


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """(1/β)·log(1 + e^{βx}), and x itself where βx > threshold (PyTorch's rule);
    derivative σ(βx) (one fused primitive: see ops.unary.Softplus)."""
    return Softplus.apply(O.float_operand(input), beta=float(beta), threshold=float(threshold))


# -- comparisons and logic: constants (no gradient) ------------------------------------------------
def _noted(name: str, inputs: tuple, out: Tensor) -> Tensor:
    """``out``, logged in the active recording (if any) as a comparison of ``inputs``."""
    if _recording[0] is not None:
        _recording[0]._add_comparison(name, inputs, out)
    return out


def _compare(fn):
    def compare(input, other):
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        return _noted(fn.__name__, (input, other), Tensor._wrap(backend.as_result(fn(a, b)), False, None))
    compare.__name__ = fn.__name__
    return compare


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)


def logical_not(input):
    return _noted("logical_not", (input,), Tensor._wrap(np.logical_not(input._data), False, None))


def isnan(input):
    return _noted("isnan", (input,), Tensor._wrap(np.isnan(input._data), False, None))


def isinf(input):
    return _noted("isinf", (input,), Tensor._wrap(np.isinf(input._data), False, None))


def isfinite(input):
    return _noted("isfinite", (input,), Tensor._wrap(np.isfinite(input._data), False, None))
