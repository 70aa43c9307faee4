"""The model's layers and their parameter counts, for the report: the model is rebuilt from the
configuration its checkpoint stores and walked with ``named_modules``.

A row is a module that holds parameters of its own or has no children (an activation, a
dropout); its count is the number of its own parameters, Σ over them of the product of the
shape, so the rows add up to the model's total.
"""
from __future__ import annotations

import math
from typing import Any

from .errors import ReportError

__all__ = ["layer_table"]


def _own(module, table: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(name, tuple(t.shape)) for name, t in getattr(module, table).items()
            if t is not None]


def layer_table(model_config: dict[str, Any], state: dict | None = None,
                where: str = "the checkpoint") -> dict[str, Any]:
    """``{"rows", "total", "trainable", "note"}`` of the model ``model_config`` describes.
    ``state`` (the checkpoint's weights), when given, is loaded, so a configuration that does
    not fit its weights is reported in ``note`` rather than shown as if it did."""
    from ...models import build_model
    try:
        model = build_model(model_config)
    except (ValueError, TypeError, KeyError) as exc:
        raise ReportError(f"{where}: cannot rebuild the model from its configuration "
                          f"({exc})") from None
    note = None
    if state is not None:
        try:
            model.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            note = (f"the weights in {where} do not fit the model its configuration "
                    f"describes ({' '.join(str(exc).split())})")
    rows = []
    for name, module in model.named_modules():
        params = _own(module, "_parameters")
        if not params and any(True for _ in module.children()):
            continue  # a container: its layers have their own rows
        rows.append({"name": name or "(model)", "type": type(module).__name__,
                     "details": module.extra_repr(),
                     "parameters": [f"{p} {list(shape)}" for p, shape in params],
                     "count": sum(math.prod(shape) for _, shape in params)})
    parameters = list(model.parameters())
    return {"rows": rows, "total": sum(p.numel() for p in parameters),
            "trainable": sum(p.numel() for p in parameters if p.requires_grad), "note": note}
