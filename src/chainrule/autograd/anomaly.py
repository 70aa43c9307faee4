"""detect_anomaly: find the op that first produced a NaN or Inf, in forward or in backward.

While enabled, every op records the stack of the user's call that created it, checks its output,
and the engine checks every gradient it computes. The error names the op and the user's line, so
``log`` of a negative number deep inside a network is found at once. Off by default: the checks
cost a stack walk per op.
"""
from __future__ import annotations

import os
import traceback

import numpy as np

__all__ = ["detect_anomaly", "is_anomaly_enabled", "AnomalyError"]

_enabled = [False]
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnomalyError(RuntimeError):
    """A NaN or Inf appeared; the message names the op and where it was created."""


def is_anomaly_enabled() -> bool:
    return _enabled[0]


class detect_anomaly:
    """Context manager (and decorator) that raises at the first NaN/Inf an op produces."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self.check_nan
        return self

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


def capture_stack() -> list:
    """The user's frames (outside chainrule) that led to the current op, innermost last."""
    frames = traceback.extract_stack()[:-1]
    return [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]


def _where(trace) -> str:
    if not trace:
        return "(no user frame recorded)"
    f = trace[-1]
    return f'File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line}'


def _bad(array) -> bool:
    a = np.asarray(array) if not hasattr(array, "dtype") else array
    return a.dtype.kind in "fc" and not bool(np.isfinite(a).all())


def check_forward(op: str, out, node=None) -> None:
    if _bad(out):
        kind = "NaN" if np.isnan(out).any() else "Inf"
        trace = node._trace if node is not None else capture_stack()
        raise AnomalyError(f"detect_anomaly: {op} produced {kind} in its forward output "
                           f"(shape {tuple(out.shape)}), created at\n  {_where(trace)}")


def check_backward(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = g if isinstance(g, np.ndarray) or not hasattr(g, "grad_fn") else g.data
        if _bad(data):
            kind = "NaN" if np.isnan(data).any() else "Inf"
            raise AnomalyError(
                f"detect_anomaly: the backward of {node.name} produced {kind} in the gradient of "
                f"its input {i} (shape {tuple(data.shape)}); the op was created at\n  "
                f"{_where(getattr(node, '_trace', None))}")
