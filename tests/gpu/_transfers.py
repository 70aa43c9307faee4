"""Counting host↔device transfers while a block of code runs.

Wrapped at the Python level: ``cupy.asnumpy``, host→device ``cupy.asarray`` / ``cupy.array``
(a NumPy or Python argument), chainrule's ``Tensor.item``, ``__float__`` and ``__bool__``; and,
because ``cupy.ndarray`` is a C type whose methods cannot be replaced, every call of a CuPy
array's ``get``, ``item``, ``tolist``, ``set`` or of ``float``/``int``/``bool`` on one is seen
through Python's call monitoring (``sys.monitoring`` from 3.12, ``sys.setprofile`` before).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np

import chainrule as cr

D2H_METHODS = {"get", "item", "tolist", "__float__", "__int__", "__bool__", "__array__"}
H2D_METHODS = {"set"}


class TransferLog:
    def __init__(self):
        self.events: list[tuple[str, str]] = []     # (direction, what)

    def count(self, direction: str) -> int:
        return sum(1 for d, _ in self.events if d == direction)

    def __repr__(self) -> str:
        return f"TransferLog({self.events})"


@contextmanager
def counting_transfers():
    import cupy
    log = TransferLog()
    depth = [0]               # transfers inside a wrapped chainrule call count once

    def note(direction, what):
        if depth[0] == 0:
            log.events.append((direction, what))

    saved = {}

    def wrap_module(name, direction, when=lambda *a, **k: True):
        original = getattr(cupy, name)
        saved[name] = original

        def wrapper(*args, **kwargs):
            if when(*args, **kwargs):
                note(direction, f"cupy.{name}")
            depth[0] += 1
            try:
                return original(*args, **kwargs)
            finally:
                depth[0] -= 1
        setattr(cupy, name, wrapper)

    host_arg = lambda a=None, *rest, **kw: not isinstance(a, cupy.ndarray)   # noqa: E731
    wrap_module("asnumpy", "d2h")
    wrap_module("asarray", "h2d", host_arg)
    wrap_module("array", "h2d", host_arg)

    tensor_saved = {}
    for name in ("item", "__float__", "__bool__"):
        original = getattr(cr.Tensor, name)
        tensor_saved[name] = original

        def wrapper(self, *a, _original=original, _name=name, **k):
            if not isinstance(self._data, np.ndarray):
                note("d2h", f"Tensor.{_name}")
            depth[0] += 1
            try:
                return _original(self, *a, **k)
            finally:
                depth[0] -= 1
        setattr(cr.Tensor, name, wrapper)

    def seen_call(fn, arg0):
        owner = getattr(fn, "__self__", None)
        target = owner if isinstance(owner, cupy.ndarray) else \
            (arg0 if isinstance(arg0, cupy.ndarray) else None)
        if target is None:
            return
        if fn is float or fn is int or fn is bool:
            note("d2h", f"{fn.__name__}(ndarray)")
            return
        name = getattr(fn, "__name__", "")
        method = owner is target or getattr(fn, "__qualname__", "").startswith("ndarray.") \
            or getattr(fn, "__objclass__", None) is cupy.ndarray
        if method and name in D2H_METHODS:
            note("d2h", f"ndarray.{name}")
        elif method and name in H2D_METHODS:
            note("h2d", f"ndarray.{name}")

    monitoring = getattr(sys, "monitoring", None)
    tool = None
    if monitoring is not None:
        for candidate in (monitoring.PROFILER_ID, monitoring.OPTIMIZER_ID, 3, 4):
            try:
                monitoring.use_tool_id(candidate, "chainrule-transfer-count")
                tool = candidate
                break
            except ValueError:
                continue
        if tool is None:
            raise RuntimeError("no free sys.monitoring tool id for the transfer counter")
        monitoring.register_callback(
            tool, monitoring.events.CALL,
            lambda code, offset, fn, arg0: seen_call(fn, arg0))
        monitoring.set_events(tool, monitoring.events.CALL)
    else:
        previous = sys.getprofile()

        def profile(frame, event, arg):
            if event == "c_call":
                seen_call(arg, getattr(arg, "__self__", None))
        sys.setprofile(profile)
    try:
        yield log
    finally:
        if monitoring is not None:
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, monitoring.events.CALL, None)
            monitoring.free_tool_id(tool)
        else:
            sys.setprofile(previous)
        for name, original in saved.items():
            setattr(cupy, name, original)
        for name, original in tensor_saved.items():
            setattr(cr.Tensor, name, original)
