"""The GEMM dispatch: a @ b through the fastest library this machine has, per shape bucket.

NumPy's ``@`` by default. Where oneMKL (the ``mkl`` wheel) or ``scipy-openblas32`` is installed
(the ``fast`` extra), the first eligible GEMM runs a short calibration (:mod:`.calibration`,
≲ 2 s) on the shapes that matter — an MLP's layers and their backward transposes, convolution's
tall-skinny im2col products — and a bucket (dtype, size in factors of 4, skinny or not, the
operands' transposes) goes to a library only where it beat NumPy there beyond noise. The plan
is cached on disk per CPU and library set (:func:`.calibration.cache_path`). Everything else —
CuPy or Tensor operands, batched or non-contiguous ones, other dtypes, products below
:data:`TINY` multiply-adds (a few µs, where the ctypes call would cost more than it saves),
buckets never calibrated — goes to ``xp.matmul``.

:func:`matmul` is what :class:`~chainrule.ops.linalg.MatMul` and ``F.linear`` call, forward and
backward; convolution can call it the same way for its im2col products.
"""
from __future__ import annotations

import numpy as np

from . import cblas as _cblas
from . import threads as _threads

__all__ = ["matmul", "gemm_info", "calibrate_gemm", "set_gemm_enabled", "plan_ready", "TINY",
           "bucket"]

#: m·n·k below which a product always goes to NumPy (≈ a few µs of work)
TINY = 1 << 15

_nd = np.ndarray
_F4, _F8 = np.dtype(np.float32), np.dtype(np.float64)

_present = _cblas.present()  # installed candidates (files only; nothing loaded at import)
_enabled = bool(_present)
_plan: dict | None = None  # bucket -> CblasLibrary, for _plan_threads threads
_plan_threads = 0
_state: dict = {}  # what gemm_info reports about the plan in force
_memo: dict = {}  # (m, n, k, ta, tb, dtype) -> library or None, for the plan in force


def bucket(dtype_char: str, m: int, n: int, k: int, ta: bool, tb: bool) -> str:
    """The calibration bucket of an (m×k)·(k×n) product: dtype, ⌊log₄ m·n·k⌋, skinny (a
    side under 32) or wide, and whether each operand comes transposed (F-contiguous)."""
    return (f"{dtype_char}{(m * n * k).bit_length() // 2}{'s' if min(m, n, k) < 32 else 'w'}"
            f"{'T' if ta else 'N'}{'T' if tb else 'N'}")


def _library_for(a, b):
    """The library the plan gives a @ b, or None for NumPy."""
    dt = a.dtype
    if (dt is not _F4 and dt is not _F8) or b.dtype is not dt:
        return None
    m, k = a.shape
    kb, n = b.shape
    mnk = m * n * k
    if mnk < TINY or kb != k:
        return None
    if a.flags.c_contiguous:
        ta = False
    elif a.flags.f_contiguous:
        ta = True
    else:
        return None
    if b.flags.c_contiguous:
        tb = False
    elif b.flags.f_contiguous:
        tb = True
    else:
        return None
    if _plan is None or _plan_threads != _threads.get_num_threads():
        _load_plan()
    shape = (m, n, k, ta, tb, dt)
    try:
        return _memo[shape]
    except KeyError:
        lib = _memo[shape] = _plan.get(bucket(dt.char, m, n, k, ta, tb))
        if len(_memo) > 4096:
            _memo.clear()
        return lib


def matmul(xp, a, b):
    """a @ b: the calibrated library for 2-D NumPy float32/64 operands where it won its bucket,
    else ``xp.matmul`` (any array, any shapes, Tensors under ``create_graph``)."""
    if _enabled and type(a) is _nd and type(b) is _nd and a.ndim == 2 and b.ndim == 2:
        lib = _library_for(a, b)
        if lib is not None:
            return lib.gemm(a, b)
    return xp.matmul(a, b)


def _load_plan() -> None:
    """Read the cached plan for this CPU, these libraries and this thread count, or calibrate."""
    global _plan, _plan_threads, _enabled
    from . import calibration
    libs = _cblas.candidates(_present)
    if not libs:
        _enabled, _plan = False, {}
        return
    plan, info = calibration.plan_for(libs)
    _plan, _plan_threads = plan, _threads.get_num_threads()
    _memo.clear()
    _state.clear()
    _state.update(info)


def plan_ready() -> bool:
    """Whether :func:`matmul` can run without loading or recalibrating its plan: no fast library
    is enabled, or the plan for the current thread count is in force. An intra-op split runs
    serially until then, so a calibration never runs on two threads at once."""
    return not _enabled or (_plan is not None and _plan_threads == _threads.get_num_threads())


def calibrate_gemm(force: bool = True) -> dict:
    """Run the calibration now (``force``: even where a cached plan exists) and return
    :func:`gemm_info`."""
    global _plan, _plan_threads
    from . import calibration
    libs = _cblas.candidates(_present)
    if libs:
        plan, info = calibration.plan_for(libs, force=force)
        _plan, _plan_threads = plan, _threads.get_num_threads()
        _memo.clear()
        _state.clear()
        _state.update(info)
    return gemm_info()


def set_gemm_enabled(on: bool) -> None:
    """Route every GEMM to NumPy's ``@`` (``False``) or back to the calibrated plan (``True``,
    only where a fast library is installed)."""
    global _enabled
    _enabled = bool(on) and bool(_present)


def gemm_info(calibrate: bool = False) -> dict:
    """Which library does which bucket: ``installed`` (candidates found), ``enabled``,
    ``buckets`` ({bucket: library name} for the calibrated ones, ``"numpy"`` where NumPy won),
    ``libraries`` ({name: version}), ``cache`` (the plan's file) and ``calibrated`` (this run
    measured, rather than read the cache). ``calibrate``: load or run the calibration first."""
    if calibrate and _enabled and _plan is None:
        _load_plan()
    out = {"installed": list(_present), "enabled": _enabled, "default": "numpy"}
    out.update(_state)
    return out
