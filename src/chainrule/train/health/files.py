"""health.json and health.png: what a health run leaves in its run folder.

health.json (``"format": "chainrule-health/1"``): ``every`` (one batch in ``every`` was
measured), ``layers`` (names in the order they ran), ``series`` (per layer, per epoch: the mean
over that epoch's measured batches of ``grad_norm`` — ‖∇W‖ of the layer's weight —,
``update_ratio`` — ‖ΔW‖/‖W‖ —, ``delta_norm``, ``act_mean``, ``act_std``, ``saturated``,
``dead``, ``bias_grad_norm`` and ``grad_to_weight``), ``verdicts`` (kind, layer, epoch, step,
evidence, remedy), and the thresholds used. Non-finite numbers are written as null.

health.png: two log-scale panels against epoch, one line per layer — the weight-gradient norm
and the update ratio (with the optimizer family's band shaded). matplotlib is optional
(``pip install 'chainrule[viz]'``) and imported only here.
"""
from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

from ...io import write_bytes, write_text
from . import thresholds as T

__all__ = ["write_health_json", "plot_health", "HEALTH_JSON", "HEALTH_PNG"]

HEALTH_JSON = "health.json"
HEALTH_PNG = "health.png"


def write_health_json(document: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a health document (see :meth:`HealthRecord.to_json`) atomically as strict
    JSON."""
    text = json.dumps(document, indent=1, allow_nan=False)
    write_text(path, text + "\n", what="health report")
    return Path(path)


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("health.png needs matplotlib: pip install 'chainrule[viz]'") from None
    return Figure


def _positive(xs: list, ys: list) -> tuple[list, list]:
    pairs = [(x, y) for x, y in zip(xs, ys)
             if isinstance(y, (int, float)) and math.isfinite(y) and y > 0]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_health(document: dict[str, Any], path: str | os.PathLike) -> Path:
    """Draw health.png from a health document: per-layer gradient norm and update ratio
    against epoch, log scale, one line per layer."""
    Figure = _figure_class()
    fig = Figure(figsize=(10, 4.2), dpi=100)
    axes = fig.subplots(1, 2)
    series = document.get("series") or {}
    layers = document.get("layers") or list(series)
    many = len(layers) > 12
    for ax, key, title in ((axes[0], "grad_norm", "weight gradient norm ‖∇W‖"),
                           (axes[1], "update_ratio", "update ratio ‖ΔW‖/‖W‖")):
        drawn = 0
        for i, name in enumerate(layers):
            col = series.get(name) or {}
            xs, ys = _positive(col.get("epoch", []), col.get(key, []))
            if xs:
                ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3,
                        label=name if not many or i in (0, len(layers) - 1) else None,
                        linewidth=1.2)
                drawn += 1
        if drawn:
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no finite positive values", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(True, which="both", alpha=0.3)
    band = T.UPDATE_RATIO_BAND.get(document.get("optimizer_family") or "")
    if band is not None:
        axes[1].axhspan(band[0], band[1], color="green", alpha=0.08,
                        label=f"{document['optimizer_family']} band")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best", title="layer", title_fontsize=7)
    kinds = [v["kind"] for v in document.get("verdicts") or []]
    fig.suptitle("gradient health: " + (", ".join(kinds) if kinds else "no verdict"),
                 fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes(path, buf.getvalue(), what="health figure")
    return Path(path)
