"""Reading the gradient-health monitor's ``health.json`` (and its figures) for the report.

The file (format ``chainrule-health/1``) holds ``every`` (the step interval of the
measurements), ``layers``, ``series`` (per layer, lists such as ``epoch``, ``grad_norm`` and
``update_ratio``) and ``verdicts``: each a ``kind``, the ``layer``, ``epoch`` and ``step`` it
concerns (each may be null), its ``evidence`` and a ``remedy``. Every verdict is kept; a
malformed file is refused, naming the file and the entry.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import ReportError
from .figures import data_uri

__all__ = ["HEALTH", "HEALTH_FORMAT", "read_health", "health_figures"]

HEALTH = "health.json"
HEALTH_FORMAT = "chainrule-health/1"
_INDEX_KEYS = ("epoch", "step")  # series that say when, not what was measured


def _optional(value: Any, kind: type, where: str, key: str) -> Any:
    if value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ReportError(f"{where}: {key} must be an integer or null, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ReportError(f"{where}: {key} must be text or null, got {value!r}")
    return value


def _verdict(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ReportError(f"{where} is not an object ({raw!r})")
    for key in ("kind", "evidence"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ReportError(f"{where} has no {key} text (got {raw.get(key)!r})")
    return {"kind": raw["kind"], "evidence": raw["evidence"],
            "remedy": _optional(raw.get("remedy"), str, where, "remedy") or "",
            "layer": _optional(raw.get("layer"), str, where, "layer"),
            "epoch": _optional(raw.get("epoch"), int, where, "epoch"),
            "step": _optional(raw.get("step"), int, where, "step")}


def _last_finite(values: Any) -> float | None:
    if not isinstance(values, list):
        return None
    for v in reversed(values):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def _series_table(series: Any, path: Path) -> tuple[list[str], list[dict]]:
    """The measured quantities, and per layer the last finite value of each."""
    if series is None:
        return [], []
    if not isinstance(series, dict):
        raise ReportError(f"{path}: series must be an object of layer -> lists")
    quantities: list[str] = []
    rows = []
    for layer, table in series.items():
        if not isinstance(table, dict):
            raise ReportError(f"{path}: series of layer {layer!r} must be an object of lists")
        for key in table:
            if key not in _INDEX_KEYS and key not in quantities:
                quantities.append(key)
        rows.append({"layer": layer, "last": {k: _last_finite(v) for k, v in table.items()},
                     "points": max((len(v) for v in table.values() if isinstance(v, list)),
                                   default=0)})
    return quantities, rows


def read_health(run_dir: str | Path) -> dict[str, Any] | None:
    """The monitor's record of a run folder, checked; None when it has no ``health.json``
    (the monitor was off)."""
    path = Path(run_dir) / HEALTH
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {path} ({exc})") from None
    except ValueError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ReportError(f"{path} holds {type(raw).__name__}, not a health record object")
    if raw.get("format") != HEALTH_FORMAT:
        raise ReportError(f"{path} has format {raw.get('format')!r}; this chainrule reads "
                          f"{HEALTH_FORMAT!r}")
    verdicts = raw.get("verdicts", [])
    if not isinstance(verdicts, list):
        raise ReportError(f"{path}: verdicts must be a list, got {type(verdicts).__name__}")
    layers = raw.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise ReportError(f"{path}: layers must be a list of names")
    quantities, rows = _series_table(raw.get("series"), path)
    return {"every": _optional(raw.get("every"), int, str(path), "every"),
            "layers": layers, "quantities": quantities, "series": rows,
            "verdicts": [_verdict(v, f"{path}: verdict {i + 1}")
                         for i, v in enumerate(verdicts)]}


def health_figures(run_dir: str | Path) -> list[dict[str, str]]:
    """Every ``health*.svg`` / ``health*.png`` of a run folder (the SVG where both exist) as
    ``{"name", "uri", "alt"}``, in name order."""
    run_dir = Path(run_dir)
    chosen: dict[str, Path] = {}
    for path in sorted(run_dir.glob("health*.png")) + sorted(run_dir.glob("health*.svg")):
        if path.is_file():
            chosen[path.stem] = path  # the .svg, globbed second, wins
    return [{"name": p.name, "uri": data_uri(p), "alt": f"gradient health ({p.stem})"}
            for _, p in sorted(chosen.items())]
