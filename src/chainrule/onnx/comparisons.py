"""Masks computed from Tensors (``x > 0``, ``a == b``, ``m & n``, ``~m``, ``isnan``) as ONNX ops.

chainrule computes a comparison straight on the arrays and hands back a constant bool Tensor;
the recording logs it (``Recording.comparisons``), and the exporter writes it here, so the mask
follows the input at run time instead of keeping the example's values.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from ..autograd.record import RecordedComparison
from ..tensor import Tensor
from .graph import ExportError, GraphBuilder

__all__ = ["emit_comparison", "COMPARISONS"]

#: NumPy's name → (ONNX op, then Not?)
_ORDER = {"greater": "Greater", "less": "Less", "greater_equal": "GreaterOrEqual",
          "less_equal": "LessOrEqual"}
_LOGIC = {"logical_and": "And", "logical_or": "Or"}
COMPARISONS = set(_ORDER) | set(_LOGIC) | {"equal", "not_equal", "logical_not", "isnan",
                                          "isinf", "isfinite"}


def _dtype_of(x: Any) -> Any:
    """A NumPy dtype, or a Python number (which promotes weakly, as in NumPy 2)."""
    if isinstance(x, Tensor):
        return np.dtype(x.dtype)
    if isinstance(x, numbers.Number) and not isinstance(x, np.generic):
        return x
    return np.asarray(x).dtype


def _as(g: GraphBuilder, name: str, have: np.dtype, want: np.dtype) -> str:
    if np.dtype(have) == np.dtype(want):
        return name
    return g.node("Cast", [name], "cast", to=g.helper.np_dtype_to_tensor_dtype(np.dtype(want)))


def emit_comparison(g: GraphBuilder, comp: RecordedComparison,
                    operands: Sequence[tuple[str | None, Any]]) -> str:
    """Write one recorded comparison; ``operands`` are (ONNX name, value) per input, the name
    None for a constant (written here in the comparison's common dtype). Both sides of a
    binary comparison are cast to NumPy's result dtype first, as NumPy compares."""
    name = comp.name
    values = [v for _, v in operands]
    if name in ("logical_not", "isnan", "isinf", "isfinite"):
        want = np.dtype(bool) if name == "logical_not" else None
    else:
        want = np.result_type(*(_dtype_of(v) for v in values))
        if name in _LOGIC:
            want = np.dtype(bool)
        elif want == np.bool_ and name in _ORDER:
            want = np.dtype(np.int8)          # ONNX orders numbers only
    names = []
    for onnx_name, value in operands:
        have = np.dtype(value.dtype) if isinstance(value, Tensor) else np.asarray(value).dtype
        target = want
        if target is None:                    # isnan / isinf / isfinite: a float input
            target = have if have.kind == "f" else np.dtype(np.float32)
        if onnx_name is None:
            names.append(g.const(np.asarray(value).astype(target)))
        else:
            names.append(_as(g, onnx_name, have, target))
    if name in _ORDER:
        return g.node(_ORDER[name], names, name)
    if name in _LOGIC:
        return g.node(_LOGIC[name], names, name)
    if name == "equal":
        return g.node("Equal", names, "equal")
    if name == "not_equal":
        return g.node("Not", [g.node("Equal", names, "equal")], "not_equal")
    if name == "logical_not":
        return g.node("Not", names, "logical_not")
    if name == "isnan":
        return g.node("IsNaN", names, "isnan")
    if name == "isinf":
        return g.node("IsInf", names, "isinf")
    if name == "isfinite":
        bad = g.node("Or", [g.node("IsNaN", names), g.node("IsInf", names)])
        return g.node("Not", [bad], "isfinite")
    raise ExportError(f"onnx.export: cannot export the comparison '{name}' ({g.where})")
