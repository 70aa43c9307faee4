"""Short descriptions of the arrays a trace holds: a scalar as its exact value, anything larger
as its shape, dtype, mean, norm, range and first few entries.

"Exact" means the shortest decimal that reads back as the same number in the array's own
dtype (so a float32 42 prints ``42`` and a float32 σ(0.5) prints ``0.62245935``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["format_number", "summarize", "is_scalar", "short"]

#: entries shown by :func:`summarize` before the ellipsis
SHOWN_ENTRIES = 4


def _as_array(value: Any) -> np.ndarray:
    data = getattr(value, "_data", value)
    return np.asarray(data)


def is_scalar(value: Any) -> bool:
    """True when ``value`` (array, Tensor or number) holds exactly one element."""
    return _as_array(value).size == 1


def format_number(x: Any) -> str:
    """The exact shortest decimal of one number in its own dtype, with ASCII signs:
    ``42``, ``-0.25``, ``0.62245935``, ``1e-30``, ``nan``, ``inf``."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if not isinstance(x, np.floating):
        x = np.float64(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0" if math.copysign(1.0, float(x)) < 0 else "0"
    magnitude = abs(float(x))
    if 1e-4 <= magnitude < 1e16:
        return np.format_float_positional(x, trim="-")
    return np.format_float_scientific(x, trim="-", exp_digits=1)


def _float(x: float) -> str:
    """A statistic (mean, norm) to 4 significant digits."""
    if math.isnan(x) or math.isinf(x):
        return format_number(x)
    return f"{x:.4g}"


def summarize(value: Any) -> str:
    """One line describing ``value``: the exact number for a single element, else
    ``(4, 3) float32  mean 0.1, ‖·‖ 2.3, min -1, max 1.5  [0.2, -1, 0.7, 0.1, …]``."""
    a = _as_array(value)
    if a.size == 1:
        return format_number(a.reshape(()).item() if a.dtype.kind in "biu" else a.reshape(())[()])
    shape = tuple(int(n) for n in a.shape)
    head = f"{shape} {np.dtype(a.dtype).name}"
    if a.size == 0:
        return f"{head}  empty"
    if a.dtype.kind == "b":
        return f"{head}  {int(np.count_nonzero(a))} of {a.size} true"
    wide = a.astype(np.float64, copy=False).reshape(-1)
    finite = wide[np.isfinite(wide)]
    stats = (f"mean {_float(float(wide.mean()))}, ‖·‖ {_float(float(np.sqrt(np.dot(wide, wide))))}"
             f", min {_float(float(wide.min()))}, max {_float(float(wide.max()))}")
    if finite.size < wide.size:
        stats += f", {wide.size - finite.size} not finite"
    first = a.reshape(-1)[:SHOWN_ENTRIES]
    entries = ", ".join(format_number(v) if a.dtype.kind in "biu" else _float(float(v))
                        for v in first)
    more = ", …" if a.size > SHOWN_ENTRIES else ""
    return f"{head}  {stats}  [{entries}{more}]"


def short(value: Any) -> str:
    """A scalar's exact value, or just ``shape dtype`` for anything larger (for node labels)."""
    a = _as_array(value)
    if a.size == 1:
        return summarize(a)
    return f"{tuple(int(n) for n in a.shape)} {np.dtype(a.dtype).name}"
