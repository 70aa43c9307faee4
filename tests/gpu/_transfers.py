"""Counting host↔device transfers while a block of code runs.

Wrapped at the Python level: ``cupy.asnumpy``, host→device ``cupy.asarray`` / ``cupy.array``
(a NumPy or Python argument), chainrule's ``Tensor.item``, ``__float__`` and ``__bool__``, and
the CuPy array's own ``get``, ``item``, ``tolist``, ``set``, ``__float__``, ``__int__`` and
``__bool__`` (so ``float(x)`` is seen), patched on ``cupy.ndarray`` (a Python subclass of the C
``cupy._core.core._ndarray_base``). Where the class cannot be patched, those calls are seen
through Python's call monitoring instead (``sys.monitoring`` from 3.12, ``sys.setprofile``
before): a call whose first argument is a CuPy array and whose name is one of them.
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

    patched = {}               # name -> the class's own attribute before (None: inherited)
    patchable = True
    for name in sorted(D2H_METHODS | H2D_METHODS):
        original = getattr(cupy.ndarray, name, None)
        if original is None or name == "__array__":
            continue
        direction = "h2d" if name in H2D_METHODS else "d2h"

        def method(self, *a, _original=original, _name=name, _dir=direction, **k):
            note(_dir, f"ndarray.{_name}")
            depth[0] += 1
            try:
                return _original(self, *a, **k)
            finally:
                depth[0] -= 1
        try:
            before = cupy.ndarray.__dict__.get(name)
            setattr(cupy.ndarray, name, method)
            patched[name] = before
        except (TypeError, AttributeError):      # a C type: watch calls instead
            patchable = False
            for done, was in patched.items():
                if was is None:
                    delattr(cupy.ndarray, done)
                else:
                    setattr(cupy.ndarray, done, was)
            patched.clear()
            break

    def seen_call(fn, arg0):
        if not isinstance(arg0, cupy.ndarray):
            return
        if fn is float or fn is int or fn is bool:
            note("d2h", f"{fn.__name__}(ndarray)")
            return
        name = getattr(fn, "__name__", "")
        if name in D2H_METHODS:
            note("d2h", f"ndarray.{name}")
        elif name in H2D_METHODS:
            note("h2d", f"ndarray.{name}")

    monitoring = getattr(sys, "monitoring", None) if not patchable else None
    tool = None
    previous = sys.getprofile()
    if patchable:
        pass
    elif monitoring is not None:
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
        def profile(frame, event, arg):
            if event == "c_call":
                seen_call(arg, getattr(arg, "__self__", None))
        sys.setprofile(profile)
    try:
        yield log
    finally:
        if tool is not None:
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, monitoring.events.CALL, None)
            monitoring.free_tool_id(tool)
        elif not patchable:
            sys.setprofile(previous)
        for name, before in patched.items():
            if before is None:
                delattr(cupy.ndarray, name)
            else:
                setattr(cupy.ndarray, name, before)
        for name, original in saved.items():
            setattr(cupy, name, original)
        for name, original in tensor_saved.items():
            setattr(cr.Tensor, name, original)
