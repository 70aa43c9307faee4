"""Switches that decide whether ops record a graph: no_grad, enable_grad, set_grad_enabled.

Each is a context manager and a decorator, as in PyTorch. The flag lives in a one-element list so
that ``Function.apply`` reads it with a single index on the hot path.
"""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]

_grad_enabled = [True]
F = TypeVar("F", bound=Callable)


def is_grad_enabled() -> bool:
    """True when new ops record the graph needed for backward."""
    return _grad_enabled[0]


class _GradModeSwitch:
    """Base: sets the flag on entry, restores the previous value on exit; also a decorator."""

    mode = True

    def __enter__(self):
        self._prev = _grad_enabled[0]
        _grad_enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _grad_enabled[0] = self._prev
        return False

    def _fresh(self) -> "_GradModeSwitch":
        return self.__class__()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeSwitch):
    """Ops inside record no graph: for evaluation and for updating parameters in place."""

    mode = False


class enable_grad(_GradModeSwitch):
    """Turn recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeSwitch):
    """Set recording on or off; takes effect immediately, like PyTorch's, and undoes on exit."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = _grad_enabled[0]
        _grad_enabled[0] = self.mode

    def __enter__(self):
        return self

    def _fresh(self) -> "_GradModeSwitch":
        return set_grad_enabled(self.mode)

    def __call__(self, fn: F) -> F:
        _grad_enabled[0] = self._prev  # used as a decorator: do not flip the flag at decoration
        return super().__call__(fn)


class inference_mode(_GradModeSwitch):
    """PyTorch's ``inference_mode(mode=True)``: here the same as ``no_grad`` (``mode=False``: as
    ``enable_grad`` is not implied, it leaves the current mode alone). A context manager and a
    decorator, used bare (``@inference_mode``) or called (``@inference_mode()``). Tensors made
    inside are ordinary tensors that do not require grad (chainrule has no separate
    inference-tensor kind)."""

    def __new__(cls, mode=True):
        if callable(mode):                      # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.enabled = bool(mode)

    def __enter__(self):
        self._prev = _grad_enabled[0]
        if self.enabled:
            _grad_enabled[0] = False
        return self

    def _fresh(self) -> "_GradModeSwitch":
        return inference_mode(self.enabled)


def is_inference_mode_enabled() -> bool:
    """True inside an active ``inference_mode()`` block (approximated by grad mode being off)."""
    return not _grad_enabled[0]
