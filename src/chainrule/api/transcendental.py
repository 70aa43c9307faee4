"""Unary functions with PyTorch's names: acos/asin/atan (and their arc* aliases), sinh, cosh,
log10, floor and ceil. Each is one primitive (see :mod:`chainrule.ops.transcendental` and
:mod:`chainrule.ops.rounding` for the derivatives); integer inputs give float32 results except
for floor and ceil, which return integer tensors unchanged."""
from __future__ import annotations

from .. import ops

__all__ = ["acos", "asin", "atan", "arccos", "arcsin", "arctan", "sinh", "cosh", "log10",
           "floor", "ceil"]

acos = arccos = ops.arccos
asin = arcsin = ops.arcsin
atan = arctan = ops.arctan
sinh = ops.sinh
cosh = ops.cosh
log10 = ops.log10
floor = ops.floor
ceil = ops.ceil
