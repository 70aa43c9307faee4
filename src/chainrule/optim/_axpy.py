"""``y ← y + α·x`` and ``y ← α·x + β·y`` in place and in one pass, for the optimizers' updates.

NumPy spells ``y += α·x`` as two passes over memory (the product into a temporary, then the add)
and rounds twice. BLAS level 1 ``axpy`` does it in one pass, split across the BLAS threads, with a
fused multiply-add: one rounding, which is also how PyTorch evaluates ``y.add_(x, alpha=α)`` on
the CPU (OpenBLAS's remainder loop, the last n mod 32 elements of each thread's share, rounds
twice). ``axpby`` folds a momentum update ``v ← μ·v + d`` into one pass as well. On workload A
(issue #9) the SGD-with-momentum step fell from ≈ 0.55 to ≈ 0.33 ms with ``axpy``.

The routines are taken, with :mod:`ctypes`, from the OpenBLAS that NumPy's own wheels bundle and
have already loaded (``scipy-openblas``, 64-bit integers, symbols ``scipy_cblas_?axpy64_``).
Where that library is absent (NumPy built against MKL or Accelerate, an older wheel), ``y`` is
small (fewer than :data:`MIN_BLAS_SIZE` elements: the call would cost more than it saves) or does
not suit it (not C-contiguous, read-only, dtypes mixed, CuPy), NumPy does the same arithmetic in
two passes. ``set_blas_axpy(False)`` turns the BLAS path off (tests compare both).
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys

import numpy as np

from .. import backend

__all__ = ["axpy_", "axpby_", "blas_axpy_available", "set_blas_axpy"]

_SYMBOLS = {np.dtype(np.float32): ("s", ctypes.c_float),
            np.dtype(np.float64): ("d", ctypes.c_double)}


def _bundled_openblas_paths() -> list[str]:
    """Where NumPy's wheels put their OpenBLAS: ``numpy.libs`` (Linux, Windows) or
    ``numpy/.dylibs`` (macOS)."""
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, os.pardir, "numpy.libs", "*openblas*"),
                os.path.join(root, ".dylibs", "*openblas*")]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


def _load_routines() -> dict:
    """(name, dtype) → the ctypes routine, for ``axpy`` and ``axpby`` in every dtype the bundled
    OpenBLAS provides."""
    routines = {}
    for path in _bundled_openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for dtype, (prefix, scalar) in _SYMBOLS.items():
            axpy = getattr(lib, f"scipy_cblas_{prefix}axpy64_", None)
            axpby = getattr(lib, f"scipy_cblas_{prefix}axpby64_", None)
            if axpy is None or axpby is None:
                continue
            n, ptr = ctypes.c_int64, ctypes.c_void_p
            axpy.argtypes = [n, scalar, ptr, n, ptr, n]
            axpby.argtypes = [n, scalar, ptr, n, scalar, ptr, n]
            axpy.restype = axpby.restype = None
            routines["axpy", dtype], routines["axpby", dtype] = axpy, axpby
        if routines:
            break
    return routines


#: below this many elements NumPy's two passes are cheaper than a ctypes call (≈ 3.5 µs with
#: its checks, against ≈ 1.5 µs for two ufunc calls on a 512-element bias)
MIN_BLAS_SIZE = 8192

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


def _address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's first element (``a.ctypes.data`` costs ≈ 1.3 µs,
    a ctypes view of a writeable buffer ≈ 0.4)."""
    if a.flags.writeable:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    return a.ctypes.data


def _blas_operand(name: str, y: np.ndarray, x: np.ndarray, scratch: np.ndarray | None):
    """The routine and a C-ordered ``x`` for the BLAS path, or ``(None, None)`` when ``y``
    does not suit it. ``x`` is copied (into ``scratch`` if given) when laid out otherwise or
    overlapping ``y``, so every layout rounds alike."""
    fn = _routines.get((name, y.dtype)) if _enabled else None
    if (fn is None or type(y) is not np.ndarray or type(x) is not np.ndarray
            or x.dtype != y.dtype or x.shape != y.shape or not y.flags.c_contiguous
            or not y.flags.writeable):
        return None, None
    if not x.flags.c_contiguous or np.may_share_memory(x, y):
        if scratch is None:
            return fn, np.array(x, order="C")
        np.copyto(scratch, x)
        return fn, scratch
    return fn, x


def _fitting(scratch: np.ndarray | None, y: np.ndarray) -> np.ndarray | None:
    """``scratch`` if it is work space for ``y`` (same shape and dtype, C-ordered, apart from
    ``y``), else None: BLAS reads ``y.size`` elements from it, so nothing else may pass."""
    if scratch is None or (type(scratch) is np.ndarray and scratch.shape == y.shape
                           and scratch.dtype == y.dtype and scratch.flags.c_contiguous
                           and not np.may_share_memory(scratch, y)):
        return scratch
    return None


def axpy_(y: np.ndarray, alpha: float, x: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """y ← y + α·x in place (``y.add_(x, alpha=α)``). ``scratch``, shaped like ``y``, is
    work space (a C-ordered copy of ``x``, or α·x on the NumPy fallback); else it is allocated.
    A CuPy ``y`` goes to the backend's fused CUDA kernel."""
    if type(y) is not np.ndarray and backend.get_array_module(y) is not np:
        return backend.update_kernels(y).axpy_(y, alpha, x)
    scratch = _fitting(scratch, y)
    if y.size >= MIN_BLAS_SIZE:
        fn, x_c = _blas_operand("axpy", y, x, scratch)
        if fn is not None:
            fn(y.size, float(alpha), _address(x_c), 1, _address(y), 1)
            return
    if alpha == 1:
        y += x
    elif scratch is None:
        y += alpha * x
    else:
        y += np.multiply(x, alpha, out=scratch)


def axpby_(y: np.ndarray, alpha: float, x: np.ndarray, beta: float,
           scratch: np.ndarray | None = None) -> None:
    """y ← α·x + β·y in place, in one pass (PyTorch's ``y.mul_(β).add_(x, alpha=α)`` in two; the
    BLAS kernel may round β·y and the sum once instead of twice)."""
    if type(y) is not np.ndarray and backend.get_array_module(y) is not np:
        return backend.update_kernels(y).axpby_(y, alpha, x, beta)
    if y.size >= MIN_BLAS_SIZE:
        scratch = _fitting(scratch, y)
        fn, x_c = _blas_operand("axpby", y, x, scratch)
        if fn is not None:
            fn(y.size, float(alpha), _address(x_c), 1, float(beta), _address(y), 1)
            return
    y *= beta
    axpy_(y, alpha, x, scratch)


backend.register_cpu_updates(sys.modules[__name__])
