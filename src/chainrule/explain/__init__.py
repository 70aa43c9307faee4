"""Backprop shown at work: traces of a graph with each node's value and δ = ∂L/∂node, the layer
view of a network, and the optimizer playground.

The submodules are imported on first use (``cr.explain.trace`` loads the tracing code, and the
figures' libraries only when a figure is drawn), so ``import chainrule`` stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "playground": "optimizer_playground",
    "trace": "tracing", "Trace": "tracing", "TraceNode": "tracing", "TraceEdge": "tracing",
    "layers": "layer_view", "LayerView": "layer_view", "summarize": "summary",
    "formula_of": "formulas", "ExpressionError": "expr",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chainrule.explain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
