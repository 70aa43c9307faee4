"""detect_anomaly: find the op that first produced a NaN or Inf, in forward or in backward.

While enabled, every op records the stack of the user's call that created it, checks its output,
and the engine checks every gradient it computes. The error names the op and the user's line, so
``log`` of a negative number deep inside a network is found at once. Off by default: the checks
cost a stack walk per op.
"""
from __future__ import annotations

import os
import sys
import traceback

import numpy as np

__all__ = ["detect_anomaly", "is_anomaly_enabled", "AnomalyError"]

_enabled = [False]
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_inside: dict = {}   # code object -> True when its file is part of chainrule


class AnomalyError(RuntimeError):
    """A NaN or Inf appeared; the message names the op and where it was created.

    Attributes: ``op`` (the op's name), ``phase`` ('forward' or 'backward') and ``trace`` (the
    user's frames, outermost first, that created the op).
    """

    def __init__(self, message: str, op: str = "", phase: str = "", trace=None):
        super().__init__(message)
        self.op, self.phase, self.trace = op, phase, trace or []


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``."""
    return _enabled[0]


class detect_anomaly:
    """Context manager (and decorator) that raises at the first NaN/Inf an op produces."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._prev: list = []

    def __enter__(self):
        self._prev.append(_enabled[0])
        _enabled[0] = self.check_nan
        return self

    def __exit__(self, *exc):
        _enabled[0] = self._prev.pop()
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


def _in_package(code) -> bool:
    inside = _inside.get(code)
    if inside is None:
        inside = os.path.abspath(code.co_filename).startswith(_PACKAGE_DIR)
        _inside[code] = inside
    return inside


def capture_stack() -> traceback.StackSummary:
    """The user's frames (outside chainrule) that led to the current op, innermost last.
    Source lines are read only if a report is printed."""
    frames = []
    f = sys._getframe(1)
    while f is not None:
        if not _in_package(f.f_code):
            frames.append((f, f.f_lineno))
        f = f.f_back
    frames.reverse()
    return traceback.StackSummary.extract(iter(frames), lookup_lines=False)


def _where(trace) -> str:
    if not trace:
        return ("(no user frame recorded: run the forward pass inside detect_anomaly() as well "
                "to learn where the op was created)")
    f = trace[-1]
    return f'File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line}'


def _bad(array) -> bool:
    a = np.asarray(array) if not hasattr(array, "dtype") else array
    return a.dtype.kind in "fc" and not bool(np.isfinite(a).all())


def _kind(array) -> str:
    return "NaN" if np.isnan(array).any() else "Inf"


def _describe_inputs(node) -> str:
    parts = []
    for i, t in enumerate(getattr(node, "inputs", None) or ()):
        a = getattr(t, "data", t)
        if hasattr(a, "dtype") and a.dtype.kind in "fc" and a.size:
            parts.append(f"input {i}: shape {tuple(a.shape)}, values in "
                         f"[{np.nanmin(a):.4g}, {np.nanmax(a):.4g}]")
    return ("\n  " + "; ".join(parts)) if parts else ""


# Nodes whose backward is running while a create_graph backward builds new ops (innermost last);
# the engine pushes and pops them, only while anomaly detection is on.
backward_stack: list = []


def _backward_in_progress():
    """The node whose backward is running when a create_graph backward builds new ops, if any."""
    return backward_stack[-1] if backward_stack else None


def check_forward(op: str, out, node=None) -> None:
    """Raise if an op's forward output holds NaN or Inf (called by ``Function.apply``)."""
    if not _bad(out):
        return
    owner = _backward_in_progress()
    if owner is not None:  # an op inside a differentiable (create_graph) backward
        trace = getattr(owner, "_trace", None)
        raise AnomalyError(
            f"detect_anomaly: the backward of {owner.name} produced {_kind(out)} (in its {op}, "
            f"shape {tuple(out.shape)}, while building a differentiable gradient with "
            f"create_graph=True); the {owner.name} was created at\n  {_where(trace)}",
            owner.name, "backward", trace)
    trace = node._trace if node is not None else capture_stack()
    raise AnomalyError(
        f"detect_anomaly: {op} produced {_kind(out)} in its forward output "
        f"(shape {tuple(out.shape)}), created at\n  {_where(trace)}{_describe_inputs(node)}",
        op, "forward", trace)


def check_backward(node, grads) -> None:
    """Raise if a gradient an op's backward returned holds NaN or Inf (called by the engine)."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = g if isinstance(g, np.ndarray) or not hasattr(g, "grad_fn") else g._data
        if _bad(data):
            trace = getattr(node, "_trace", None)
            raise AnomalyError(
                f"detect_anomaly: the backward of {node.name} produced {_kind(data)} in the "
                f"gradient of its input {i} (shape {tuple(data.shape)}); the op was created at\n"
                f"  {_where(trace)}{_describe_inputs(node)}", node.name, "backward", trace)
