"""Turning op arguments into operands: Tensors stay Tensors, anything else becomes a constant.

Binary ops promote both operands to PyTorch's result dtype first (see :mod:`chainrule.dtypes`); a
Tensor that needs a different dtype is cast with the differentiable ``cast`` op, a constant is
converted directly.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..dtypes import result_type
from ..tensor import Tensor


_OPERAND_TYPES = (Tensor, numbers.Number, np.generic, np.ndarray, list, tuple)


def check(x, op: str) -> None:
    """TypeError naming the op unless ``x`` is a Tensor, array, number or nested list."""
    if not isinstance(x, _OPERAND_TYPES) and not backend.is_array(x):
        raise TypeError(f"{op}: expected a Tensor, array or number, got {type(x).__name__}")


def constant(x, dtype=None):
    """A raw array or NumPy scalar for a non-Tensor argument (Python number, list, array)."""
    if isinstance(x, Tensor):
        return x
    if backend.is_array(x):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    if dtype is not None and not isinstance(x, (list, tuple)):
        return dtype.type(x)
    return np.asarray(x, dtype=dtype)


def operand(x, dtype):
    """``x`` as a Tensor or constant of exactly ``dtype``."""
    if isinstance(x, Tensor):
        if x._data.dtype == dtype:
            return x
        from .elementwise import cast
        return cast(x, dtype)
    return constant(x, dtype)


def binary(a, b, op: str = "op"):
    """Both operands promoted to their common dtype."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.dtype == b._data.dtype:
        return a, b
    check(a, op)
    check(b, op)
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    if isinstance(b, (list, tuple)):
        b = np.asarray(b)
    dt = result_type(a, b)
    return operand(a, dt), operand(b, dt)


def float_operand(x, op: str = "op"):
    """Unary float ops (exp, log, ...) promote integer inputs to the default float dtype."""
    check(x, op)
    if isinstance(x, Tensor):
        if x._data.dtype.kind in "fc":
            return x
        return operand(x, backend.get_default_dtype())
    if backend.is_array(x):
        return x if x.dtype.kind in "fc" else x.astype(backend.get_default_dtype())
    return np.asarray(x, dtype=backend.get_default_dtype())


_ONES: dict = {}


def ones_constant(shape: tuple, dtype) -> np.ndarray:
    """A read-only NumPy array of ones, kept per (shape, dtype), a few at a time: for backward
    rules that would build one per call (a gemv's 1ᵀ) or hand NumPy a Python 1 (its scalar path
    costs ≈ 840 ns on a 1-element array, a 0-d array ≈ 430)."""
    key = (shape, dtype) if shape else dtype    # 0-d: the dtype alone (a hot path in tanh)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 32:
            _ONES.clear()
        ones = _ONES[key] = np.ones(shape, dtype)
        ones.flags.writeable = False
    return ones
