"""The BLAS thread policy: one thread for a small GEMM, up to :func:`get_num_threads` for a big
one.

A GEMM of m·n·k multiply-adds below :data:`THRESHOLD` runs on one BLAS thread: split over two,
its halves are shorter than the time a second thread takes to wake, and on a busy machine
OpenBLAS's spinning helpers wait for a core while the caller waits for them (issue #17: the
digits job, GEMMs of 2¹⁹–2²⁰, took 1–2 s of training with one thread and 7–66 s with two while
other processes ran). From the threshold up a GEMM gets every thread the user allows, but no
more than the CPUs other processes leave free (:mod:`.load`, as OpenMP's dynamic mode does).
The threshold plays the part of PyTorch's grain size.

The thread count is the BLAS's own setting, changed through :mod:`ctypes` in the library NumPy
has already loaded (never a new one): ``scipy_openblas_set_num_threads64_`` for NumPy's bundled
``scipy-openblas``, ``openblas_set_num_threads`` and its ``64_`` variants for other OpenBLAS
builds; failing those ``threadpoolctl`` when it is installed (slower: the policy then switches
only on :func:`set_num_threads`); otherwise nothing is switched and :func:`blas_info` says
``"unknown"``. The count in force is cached, so a GEMM pays a multiply and two comparisons,
and the ctypes call (≈ 0.1–0.6 µs) only when the wanted count changes. PyTorch's own thread pool
is not touched. No environment variable is needed (``OPENBLAS_NUM_THREADS``, if set, is only the
starting value).
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys
from typing import Callable

import numpy as np

from . import load as _load

__all__ = ["blas_threads_for", "set_num_threads", "get_num_threads", "blas_info", "THRESHOLD"]

#: m·n·k from which a GEMM gets more than one thread (2²²; see bench/RESULTS.md "threads")
THRESHOLD = 1 << 22

# (set, get) symbol names, most specific first: NumPy ≥ 2's scipy-openblas (64-bit ints), the
# openblas64_ of NumPy 1.2x wheels, a plain OpenBLAS.
_SYMBOLS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
            ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
            ("openblas_set_num_threads", "openblas_get_num_threads"))
_CONFIG = ("scipy_openblas_get_config64_", "openblas_get_config64_", "openblas_get_config")


def _loaded_paths() -> list[str]:
    """Shared libraries with 'blas' in their name already mapped into this process (Linux's
    /proc/self/maps), then where NumPy's wheels keep theirs (numpy.libs, numpy/.dylibs)."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.rsplit(None, 1)[-1] if line.count(" ") >= 5 else ""
                if "blas" in os.path.basename(p).lower() and p not in paths:
                    paths.append(p)
    except OSError:
        pass
    root = os.path.dirname(np.__file__)
    for pattern in (os.path.join(root, os.pardir, "numpy.libs", "*openblas*"),
                    os.path.join(root, ".dylibs", "*openblas*")):
        paths += [p for p in sorted(glob.glob(pattern)) if p not in paths]
    return paths


class _Backend:
    """How the thread count is read and changed: ``set``/``get`` callables and a description."""

    def __init__(self, name: str, set_: Callable[[int], None] | None,
                 get: Callable[[], int] | None, fast: bool):
        self.name, self.set, self.get, self.fast = name, set_, get, fast


def _ctypes_backend() -> _Backend | None:
    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_NOW", 0)
    for path in _loaded_paths():
        try:
            lib = ctypes.CDLL(path, mode=mode)  # RTLD_NOLOAD: only a library already loaded
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            set_, get = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if set_ is None or get is None:
                continue
            set_.argtypes, set_.restype = [ctypes.c_int], None
            get.argtypes, get.restype = [], ctypes.c_int
            version = "OpenBLAS"
            for cfg in _CONFIG:
                fn = getattr(lib, cfg, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    version = fn().decode(errors="replace").strip()
                    break
            return _Backend(f"{version} ({os.path.basename(path)}, ctypes)", set_, get, True)
    return None


def _threadpoolctl_backend() -> _Backend | None:
    if "threadpoolctl" not in sys.modules:
        try:
            import threadpoolctl  # noqa: F401
        except ImportError:
            return None
    from threadpoolctl import ThreadpoolController
    ctl = ThreadpoolController().select(user_api="blas")
    if not ctl.lib_controllers:
        return None
    info = ctl.info()[0]

    def get() -> int:
        return int(ctl.info()[0]["num_threads"])

    def set_(n: int) -> None:
        for lc in ctl.lib_controllers:
            lc.set_num_threads(n)

    return _Backend(f"{info.get('internal_api')} {info.get('version')} (threadpoolctl)",
                    set_, get, False)


def _find() -> _Backend:
    return (_ctypes_backend() or _threadpoolctl_backend()
            or _Backend("unknown", None, None, False))


_backend = _find()
_limit = max(1, int(_backend.get())) if _backend.get else 1  # get_num_threads()
_current = _limit  # the count in force in the BLAS (what we last set, or its start)
_big = _limit  # what blas_threads_for gives a GEMM from the threshold up
# threadpoolctl is too slow to call per GEMM and "unknown" cannot switch: every GEMM counts as
# big there, so blas_threads_for never calls into the BLAS
_threshold = THRESHOLD if _backend.fast else 0


def blas_threads_for(m: int, n: int, k: int) -> None:
    """Give the next GEMM of (m×k)·(k×n) one BLAS thread if m·n·k < :data:`THRESHOLD`, else
    :func:`get_num_threads`; calls into the BLAS only when that differs from the count in
    force."""
    global _current
    want = _big if m * n * k >= _threshold else 1
    if want > 1 and _threshold:         # no more than the CPUs other processes leave free
        want = min(want, _load.free_cpus())
    if want != _current:
        _current = want
        _backend.set(want)


def big_threads() -> int:
    """The threads a GEMM from the threshold up gets now: :func:`get_num_threads`, or one inside
    an intra-op split (:func:`pin_one_thread`), and never more than the CPUs other processes
    leave free (:func:`.load.free_cpus`) where the count can be switched per call."""
    if _big > 1 and _threshold:
        return min(_big, _load.free_cpus())
    return _big


def switchable() -> bool:
    """Whether the BLAS thread count can be switched per call (the ctypes backend)."""
    return _backend.fast and _backend.set is not None


def pin_one_thread(on: bool) -> None:
    """While ``on``, every GEMM gets one BLAS thread (:mod:`.intraop` runs ops' batch ranges on
    its own threads); off restores :func:`get_num_threads` for big GEMMs."""
    global _big
    _big = 1 if on else _limit
    if on:
        blas_threads_for(1, 1, 1)


def set_num_threads(n: int) -> None:
    """Use at most ``n`` BLAS threads (PyTorch's name); big GEMMs get ``n``, small ones one."""
    global _limit, _current, _big
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, got {n}")
    _limit = int(n)
    if _backend.set is not None:
        _backend.set(_limit)
        _current = _big = _limit


def get_num_threads() -> int:
    """The most BLAS threads a GEMM may get: the BLAS's count at import, or the last
    :func:`set_num_threads`."""
    return _limit


def blas_info() -> dict:
    """What the policy drives: ``library`` (OpenBLAS's configuration string and file, or
    ``"unknown"``), ``num_threads`` (:func:`get_num_threads`), ``in_force`` (the count set in
    the BLAS now, as far as chainrule knows), ``threshold`` (m·n·k from which a GEMM gets more
    than one thread; 0 where the policy cannot switch per GEMM) and ``per_gemm``."""
    return {"library": _backend.name, "num_threads": _limit, "in_force": _current,
            "threshold": _threshold, "per_gemm": _backend.fast}
