"""``y ← y + α·x`` in place, in one pass and rounded once, for the optimizers' parameter updates.

NumPy spells ``y += α·x`` as two passes over memory (the product into a temporary, then the add)
and rounds twice. BLAS level 1 ``axpy`` does it in one pass, split across the BLAS threads, with a
fused multiply-add: one rounding, which is also how PyTorch evaluates ``y.add_(x, alpha=α)`` on
the CPU. On workload A (issue #9) the SGD-with-momentum step falls from ≈ 0.47 to ≈ 0.28 ms.

The routine is taken, with :mod:`ctypes`, from the OpenBLAS that NumPy's own wheels bundle and
have already loaded (``scipy-openblas``, 64-bit integers, symbols ``scipy_cblas_?axpy64_``).
Where that library is absent (NumPy built against MKL or Accelerate, an older wheel) or ``y``
does not suit it (not C-contiguous, read-only, dtypes mixed, CuPy), :func:`axpy_` falls back to
NumPy's two passes. ``set_blas_axpy(False)`` turns the BLAS path off (tests compare the two).
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

__all__ = ["axpy_", "blas_axpy_available", "set_blas_axpy"]

_SYMBOLS = {np.dtype(np.float32): ("scipy_cblas_saxpy64_", ctypes.c_float),
            np.dtype(np.float64): ("scipy_cblas_daxpy64_", ctypes.c_double)}


def _bundled_openblas_paths() -> list[str]:
    """Where NumPy's wheels put their OpenBLAS: ``numpy.libs`` (Linux, Windows) or
    ``numpy/.dylibs`` (macOS)."""
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, os.pardir, "numpy.libs", "*openblas*"),
                os.path.join(root, ".dylibs", "*openblas*")]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


def _load_routines() -> dict:
    """dtype → the ctypes routine, for every dtype the bundled OpenBLAS provides."""
    routines = {}
    for path in _bundled_openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for dtype, (name, scalar) in _SYMBOLS.items():
            fn = getattr(lib, name, None)
            if fn is None:
                continue
            fn.restype = None
            fn.argtypes = [ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64,
                           ctypes.c_void_p, ctypes.c_int64]
            routines[dtype] = fn
        if routines:
            break
    return routines


_routines = _load_routines()
_enabled = True


def blas_axpy_available() -> bool:
    """True when the one-pass BLAS path is found and switched on."""
    return _enabled and bool(_routines)


def set_blas_axpy(enabled: bool) -> bool:
    """Switch the BLAS path on or off; returns the previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


def axpy_(y: np.ndarray, alpha: float, x: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """y ← y + α·x in place (``y.add_(x, alpha=α)``). ``scratch``, shaped like ``y``, takes a
    C-ordered copy of ``x`` when ``x`` is laid out otherwise (so every layout rounds alike), or
    α·x on the NumPy fallback; without it those are allocated."""
    fn = _routines.get(y.dtype) if _enabled else None
    if (fn is not None and type(y) is np.ndarray and type(x) is np.ndarray
            and x.dtype == y.dtype and x.shape == y.shape and y.flags.c_contiguous
            and y.flags.writeable):
        if not x.flags.c_contiguous or np.may_share_memory(x, y):
            if scratch is None:
                x = np.array(x, order="C")
            else:
                np.copyto(scratch, x)
                x = scratch
        fn(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
        return
    if scratch is None:
        y += alpha * x
    else:
        y += np.multiply(x, alpha, out=scratch)
