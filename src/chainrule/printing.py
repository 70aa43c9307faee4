"""``repr(tensor)`` with PyTorch's layout rules, and ``chainrule.set_printoptions``.

The rules (facts of torch's printer, rewritten here): one width for every element; floats print
with ``precision`` decimals, as whole numbers with a trailing ``.`` when every non-zero finite
value is an integer, or in scientific notation when the largest non-zero finite magnitude is
over 1e8, or more than 1000 times the smallest, or (non-integers only) the smallest is under
1e-4. NaN and inf do not count towards these choices. Tensors over ``threshold`` elements show
``edgeitems`` at each end of every dim around ``...``. Rows wrap at ``linewidth`` columns, and the
suffixes (``dtype=``, ``grad_fn=``) go on the last line unless they would pass it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "tensor_repr"]


@dataclass
class _Options:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


OPTIONS = _Options()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print (PyTorch's options): a ``profile`` ('default', 'short', 'full')
    first, then any option given; ``sci_mode`` None lets the printer choose."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems, OPTIONS.linewidth = \
            _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options as a dict."""
    return dict(vars(OPTIONS))


class _Formatter:
    """Picks one width and one notation for all the values that will be shown."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind in "fc"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = OPTIONS.precision
        if not self.floating:
            for v in values.reshape(-1).tolist():
                self.width = max(self.width, len(f"{v}"))
            return
        v = values.reshape(-1).astype(np.float64)
        nz = v[np.isfinite(v) & (v != 0)]
        if nz.size == 0:
            return
        lo, hi = float(np.abs(nz).min()), float(np.abs(nz).max())
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        wide = hi / lo > 1000.0 or hi > 1.0e8
        if self.int_mode:
            self.sci_mode = wide
            fmt = (lambda x: f"{x:.{p}e}") if wide else (lambda x: f"{x:.0f}.")
        else:
            self.sci_mode = wide or lo < 1.0e-4
            fmt = (lambda x: f"{x:.{p}e}") if self.sci_mode else (lambda x: f"{x:.{p}f}")
        if OPTIONS.sci_mode is not None and OPTIONS.sci_mode != self.sci_mode:
            self.sci_mode = OPTIONS.sci_mode      # forced: widths in the forced notation
            fmt = (lambda x: f"{x:.{p}e}") if self.sci_mode else \
                (lambda x: f"{x:.0f}.") if self.int_mode else (lambda x: f"{x:.{p}f}")
        self.width = max(len(fmt(x)) for x in nz.tolist())

    def format(self, value) -> str:
        p = OPTIONS.precision
        if not self.floating:
            s = f"{value}"
        elif self.sci_mode:
            s = f"{value:{self.width}.{p}e}"
        elif self.int_mode:
            s = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            s = f"{value:.{p}f}"
        return " " * (self.width - len(s)) + s


def _summarized(a: np.ndarray, e: int) -> np.ndarray:
    """Only the values that will be shown: ``e`` at each end of every dim."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        a = np.concatenate([a[:e], a[-e:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x, e) for x in a])


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int(math.floor((OPTIONS.linewidth - indent) / (fmt.width + 2))))
    e = OPTIONS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        items = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + \
            [fmt.format(v) for v in a[-e:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = OPTIONS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + \
            [_nested(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - e, a.shape[0])]
    else:
        rows = [_nested(x, indent + 1, summarize, fmt) for x in a]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(body: str, suffixes: list, indent: int) -> str:
    parts = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def array_body(a: np.ndarray, indent: int) -> str:
    """The bracketed values of ``a`` as torch lays them out after a prefix of ``indent``."""
    if a.size == 0:
        return "[]"
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    summarize = a.size > OPTIONS.threshold
    fmt = _Formatter(_summarized(a, OPTIONS.edgeitems) if summarize else a)
    return _nested(a, indent, summarize, fmt)


def tensor_repr(t, prefix: str = "tensor(") -> str:
    """``repr`` of a Tensor in PyTorch's layout, 'chainrule.' where torch says 'torch.'."""
    from . import backend
    data = t._data
    on_host = isinstance(data, (np.ndarray, np.generic))
    a = np.asarray(data if on_host else data.get())
    suffixes = [] if on_host else [f"device='{t.device}'"]
    default = np.dtype(backend.get_default_dtype())
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if a.dtype != default:
            suffixes.append(f"dtype={t.dtype!r}")
        body = "[]"
    else:
        if a.dtype not in (default, np.dtype(np.int64), np.dtype(np.bool_), np.dtype(np.complex64)):
            suffixes.append(f"dtype={t.dtype!r}")
        body = array_body(a, len(prefix))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, len(prefix))
