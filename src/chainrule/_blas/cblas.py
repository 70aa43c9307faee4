"""CBLAS GEMM libraries reached through :mod:`ctypes`: oneMKL (the ``mkl`` wheel's
``libmkl_rt``), ``scipy-openblas32`` and, as a test stand-in, the ``scipy_openblas64_`` NumPy
bundles.

Each :class:`CblasLibrary` computes C = op(A)·op(B) for 2-D float32/float64 arrays with
CBLAS's row-major call: a C-contiguous operand goes in as it is (``NoTrans``), an F-contiguous
one as its C-contiguous transpose with ``Trans`` — no copies. Its thread count follows
chainrule's policy (:mod:`.threads`): one thread below m·n·k = ``THRESHOLD``, else
:func:`~.threads.get_num_threads`, set through the library's own call (``MKL_Set_Num_Threads``
or ``scipy_openblas_set_num_threads``) only when the wanted count changes. No environment
variable is read or set. A library is loaded only when asked for (``RTLD_LOCAL``: its symbols
do not leak into PyTorch's or NumPy's).
"""
from __future__ import annotations

import ctypes
import glob
import importlib.metadata
import importlib.util
import os
import sys

import numpy as np

from . import threads as _threads

__all__ = ["CblasLibrary", "find_mkl", "find_openblas32", "find_numpy_openblas", "candidates"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_F4, _F8 = np.dtype(np.float32), np.dtype(np.float64)
_byref, _char_at = ctypes.byref, ctypes.c_char.from_buffer


def _pointer(a: np.ndarray):
    """A C-contiguous array's data address for ctypes: ``byref(c_char.from_buffer(a))`` costs
    about a third of ``a.ctypes.data``; read-only arrays take the slower route."""
    try:
        return _byref(_char_at(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


class CblasLibrary:
    """One loaded CBLAS: ``gemm(a, b)`` = a @ b for 2-D float32/64 arrays that are each C- or
    F-contiguous (the caller checks), into a new C-contiguous array."""

    def __init__(self, name: str, path: str, lib: ctypes.CDLL, sgemm: str, dgemm: str,
                 index: type, set_threads: str | None, version: str):
        self.name, self.path, self.version = name, path, version
        self._lib = lib  # keeps the library mapped
        enum, ptr = ctypes.c_int, ctypes.c_void_p
        self._fns = {}
        for dt, sym, scalar in ((_F4, sgemm, ctypes.c_float), (_F8, dgemm, ctypes.c_double)):
            fn = getattr(lib, sym)
            fn.argtypes = [enum, enum, enum, index, index, index, scalar, ptr, index, ptr,
                           index, scalar, ptr, index]
            fn.restype = None
            self._fns[dt] = fn
        self._set = None
        if set_threads is not None:
            self._set = getattr(lib, set_threads)
            self._set.argtypes, self._set.restype = [ctypes.c_int], None
        self._threads = 0  # the count in force (0: not set by us yet)

    def threads_for(self, mnk: int) -> None:
        """Follow chainrule's policy: one thread below the threshold, else the user's limit."""
        want = _threads.big_threads() if mnk >= _threads.THRESHOLD else 1
        if want != self._threads and self._set is not None:
            self._set(want)
            self._threads = want

    def gemm(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a @ b; a (m, k), b (k, n) of one dtype (float32 or float64), each C- or
        F-contiguous."""
        m, k = a.shape
        n = b.shape[1]
        self.threads_for(m * n * k)
        if a.flags.c_contiguous:
            ta, lda = _NO_TRANS, k
        else:  # F-contiguous: its transpose is C-contiguous (k, m)
            ta, lda, a = _TRANS, m, a.T
        if b.flags.c_contiguous:
            tb, ldb = _NO_TRANS, n
        else:
            tb, ldb, b = _TRANS, k, b.T
        c = np.empty((m, n), a.dtype)
        self._fns[a.dtype](_ROW_MAJOR, ta, tb, m, n, k, 1.0, _pointer(a), max(lda, 1),
                           _pointer(b), max(ldb, 1), 0.0, _pointer(c), max(n, 1))
        return c

    def __repr__(self) -> str:
        return f"CblasLibrary({self.name!r}, {self.version!r})"


def _load(path: str) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(path)  # RTLD_LOCAL (Linux's default for ctypes)
    except OSError:
        return None


def mkl_paths() -> list[str]:
    """Where the ``mkl`` wheel's ``libmkl_rt.so.N`` lies: sys.prefix/lib, else its dist files."""
    found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), reverse=True)
    if not found:
        try:
            files = importlib.metadata.files("mkl") or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        found = [str(f.locate()) for f in files if os.path.basename(str(f)).startswith(
            "libmkl_rt.so")]
    return [p for p in found if os.path.isfile(p)]


def openblas32_paths() -> list[str]:
    """``scipy-openblas32``'s library, found from its package without importing it."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return []
    lib_dir = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    return sorted(glob.glob(os.path.join(lib_dir, "libscipy_openblas*.so*")))


def numpy_openblas_paths() -> list[str]:
    """The ``scipy_openblas64_`` in NumPy's wheel (numpy.libs): the test stand-in."""
    root = os.path.dirname(np.__file__)
    return sorted(glob.glob(os.path.join(root, os.pardir, "numpy.libs",
                                         "libscipy_openblas64_*.so*")))


def find_mkl() -> CblasLibrary | None:
    """oneMKL through ``libmkl_rt`` (LP64 interface, its default Intel OpenMP threading)."""
    for path in mkl_paths():
        lib = _load(path)
        if lib is None or not hasattr(lib, "cblas_sgemm"):
            continue
        if hasattr(lib, "MKL_Set_Interface_Layer"):
            lib.MKL_Set_Interface_Layer.argtypes = [ctypes.c_int]
            lib.MKL_Set_Interface_Layer(0)  # LP64: 32-bit ints, before any other MKL call
        buf = ctypes.create_string_buffer(256)
        version = "oneMKL"
        if hasattr(lib, "mkl_get_version_string"):
            lib.mkl_get_version_string.argtypes = [ctypes.c_char_p, ctypes.c_int]
            lib.mkl_get_version_string(buf, 256)
            version = buf.value.decode(errors="replace").strip() or version
        out = CblasLibrary("mkl", path, lib, "cblas_sgemm", "cblas_dgemm", ctypes.c_int,
                           "MKL_Set_Num_Threads", version)
        out.threads_for(0)  # one thread until a GEMM asks for more; loads MKL's OpenMP
        _no_spin(os.path.dirname(path))
        return out
    return None


def _no_spin(lib_dir: str) -> None:
    """Intel OpenMP's helpers spin 200 ms after each parallel region by default, taking a core
    from NumPy's OpenBLAS, PyTorch's OpenMP or another process: make them sleep at once
    (``kmp_set_blocktime(0)``; an API call on the copy MKL loaded, not an environment
    variable)."""
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_NOW", 0)
    for name in ("libiomp5.so",):
        try:
            omp = ctypes.CDLL(os.path.join(lib_dir, name), mode=mode)
        except OSError:
            continue
        fn = getattr(omp, "kmp_set_blocktime", None)
        if fn is not None:
            fn.argtypes, fn.restype = [ctypes.c_int], None
            fn(0)


def _openblas_version(lib: ctypes.CDLL, symbol: str, fallback: str) -> str:
    fn = getattr(lib, symbol, None)
    if fn is None:
        return fallback
    fn.restype = ctypes.c_char_p
    return fn().decode(errors="replace").strip()


def find_openblas32() -> CblasLibrary | None:
    """``scipy-openblas32`` (32-bit ints, its own pthreads pool)."""
    for path in openblas32_paths():
        lib = _load(path)
        if lib is None or not hasattr(lib, "scipy_cblas_sgemm"):
            continue
        return CblasLibrary("openblas32", path, lib, "scipy_cblas_sgemm", "scipy_cblas_dgemm",
                            ctypes.c_int, "scipy_openblas_set_num_threads",
                            _openblas_version(lib, "scipy_openblas_get_config", "OpenBLAS"))
    return None


def find_numpy_openblas() -> CblasLibrary | None:
    """NumPy's own ``scipy_openblas64_`` (64-bit ints) through the same ctypes path — never a
    production candidate (it is what ``@`` already calls), only the tests' stand-in. Its
    threads are left to :mod:`.threads`."""
    for path in numpy_openblas_paths():
        lib = _load(path)
        if lib is None or not hasattr(lib, "scipy_cblas_sgemm64_"):
            continue
        return CblasLibrary("numpy-openblas64", path, lib, "scipy_cblas_sgemm64_",
                            "scipy_cblas_dgemm64_", ctypes.c_int64, None,
                            _openblas_version(lib, "scipy_openblas_get_config64_", "OpenBLAS"))
    return None


_FINDERS = {"mkl": (mkl_paths, find_mkl), "openblas32": (openblas32_paths, find_openblas32)}


def present() -> list[str]:
    """The production candidates whose files exist (nothing is loaded)."""
    return [name for name, (paths, _) in _FINDERS.items() if paths()]


def candidates(names: list[str] | None = None) -> list[CblasLibrary]:
    """Load the production candidates (``mkl``, ``openblas32``) that are installed."""
    out = []
    for name in names if names is not None else list(_FINDERS):
        lib = _FINDERS[name][1]()
        if lib is not None:
            out.append(lib)
    return out
