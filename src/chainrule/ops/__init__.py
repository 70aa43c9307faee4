"""The internal op namespace: NumPy's names and signatures, on chainrule Tensors.

Backward rules are written once against an array namespace ``xp``. In ordinary backward ``xp`` is
NumPy (or CuPy); under ``create_graph=True`` it is this module, so the very same rule records a
differentiable graph. Anything a backward calls through ``xp`` must therefore exist here with
NumPy's signature. Non-differentiable helpers (``zeros_like``, ``sign``, ``isfinite``) return
constant Tensors.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .elementwise import (add, subtract, multiply, divide, true_divide, power, negative, maximum,
                          minimum, where, exp, log, log1p, sqrt, sin, cos, tanh, sigmoid, erf,
                          absolute, abs, relu, step, clip, cast, sign)
from .reduction import sum, mean, amax, amin, max, min, logsumexp, prod, argmax, argmin
from .linalg import matmul
from .shape import (reshape, transpose, swapaxes, broadcast_to, expand_dims, squeeze,
                    concatenate, stack)
from .indexing import getitem, take_along_axis, index_scatter



def _const(array) -> Tensor:
    return Tensor._wrap(array, False, None)


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def zeros_like(x, dtype=None):
    return _const(np.zeros_like(_raw(x), dtype=dtype))


def ones_like(x, dtype=None):
    return _const(np.ones_like(_raw(x), dtype=dtype))


def zeros(shape, dtype=None):
    return _const(np.zeros(shape, dtype=dtype))


def ones(shape, dtype=None):
    return _const(np.ones(shape, dtype=dtype))


def isfinite(x):
    return _const(np.isfinite(_raw(x)))


def asarray(x, dtype=None):
    if isinstance(x, Tensor):
        return cast(x, dtype) if dtype is not None else x
    return _const(np.asarray(x, dtype=dtype))


def square(x):
    return multiply(x, x)


# -- issue #3: indexing, more shape and math ops, convolution and pooling primitives --------------
from .indexing import gather, take, scatter_add  # noqa: E402
from .math import pad, tile, flip, roll, cumsum, einsum  # noqa: E402
from .conv import convolution  # noqa: E402
from .pool import window_sum  # noqa: E402

# -- issue #18: more unary functions, scatter, the nuclear norm -----------------------------------
from .transcendental import arcsin, arccos, arctan, sinh, cosh, log10  # noqa: E402
from .rounding import floor, ceil  # noqa: E402
from .scatter import scatter  # noqa: E402
from .nuclear_norm import nuclear_norm  # noqa: E402
