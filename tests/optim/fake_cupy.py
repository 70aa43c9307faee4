"""A stand-in ``cupy`` module for CPU tests of the CUDA code paths' arithmetic.

Its arrays are a NumPy subclass (so ``type(a) is not np.ndarray``, as for CuPy arrays), and its
``ElementwiseKernel`` runs the kernel's C body as Python over whole arrays: declarations are
dropped, ``sqrt``/``max`` become NumPy's, and the output variables are written back. Only the
straight-line bodies of the optimizer kernels are supported (no loops or branches).
"""
from __future__ import annotations

import re
import sys
import types

import numpy as np


class FakeArray(np.ndarray):
    """A 'device' array: NumPy underneath, ``get()`` copies to the host."""

    def get(self):
        return np.array(self)


def _fake(a):
    return np.asarray(a).view(FakeArray)


class ElementwiseKernel:
    """Runs a straight-line CUDA elementwise body with NumPy (whole arrays at once)."""

    calls: list = []

    def __init__(self, in_params: str, out_params: str, body: str, name: str):
        self.ins = [p.split()[-1] for p in in_params.split(",")]
        self.outs = [p.split()[-1] for p in out_params.split(",")]
        self.name = name
        code = re.sub(r"\b(const\s+)?(T|int|long long|float|double)\s+(?=\w+\s*=)", "", body)
        code = code.replace(";", "\n")
        self.code = "\n".join(line.strip() for line in code.splitlines() if line.strip())

    def __call__(self, *args):
        assert len(args) == len(self.ins) + len(self.outs), (self.name, len(args))
        ElementwiseKernel.calls.append(self.name)
        ns = {"sqrt": np.sqrt, "max": np.maximum}
        outs = args[len(self.ins):]
        dtype = outs[0].dtype
        for name, value in zip(self.ins, args[: len(self.ins)]):
            ns[name] = np.asarray(value, dtype=value.dtype if hasattr(value, "dtype") else dtype)
        for name, value in zip(self.outs, outs):
            ns[name] = np.array(value)
        exec(self.code, ns)                                   # noqa: S102 - test helper
        for name, value in zip(self.outs, outs):
            value[...] = np.asarray(ns[name], dtype=value.dtype)


def make() -> types.ModuleType:
    """A fresh fake ``cupy`` module."""
    m = types.ModuleType("cupy")
    m.ndarray = FakeArray
    m.ElementwiseKernel = ElementwiseKernel
    for name in ("zeros_like", "full_like", "empty_like", "where", "arange", "exp", "log",
                 "zeros", "ones", "empty", "asarray", "minimum", "sqrt", "abs", "dot", "isfinite",
                 "count_nonzero", "clip", "ascontiguousarray"):
        fn = getattr(np, name)
        setattr(m, name, (lambda f: lambda *a, **k: _fake(f(*a, **k)))(fn))
    m.stack = lambda arrays, *a, **k: _fake(np.stack([np.asarray(x) for x in arrays], *a, **k))
    m.concatenate = lambda arrays, *a, **k: _fake(np.concatenate([np.asarray(x) for x in arrays]))
    m.random = types.SimpleNamespace(seed=lambda s: None)
    return m


def install(monkeypatch) -> types.ModuleType:
    """Put a fake cupy in sys.modules for one test (and forget the CUDA kernel modules built
    against it afterwards)."""
    fake = make()
    for name in [n for n in sys.modules if n.startswith("chainrule._cuda_kernels")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    ElementwiseKernel.calls.clear()
    return fake


def forget_kernels() -> None:
    for name in [n for n in sys.modules if n.startswith("chainrule._cuda_kernels")]:
        del sys.modules[name]
