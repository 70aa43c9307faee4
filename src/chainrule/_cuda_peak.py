"""The allocated-memory high-water mark on CUDA, like PyTorch's ``max_memory_allocated``.

CuPy's pool reports what it holds now (``used_bytes``) and what it reserves (``total_bytes``,
cached blocks included) but keeps no peak. A ``cupy.cuda.MemoryHook`` installed on the thread
that first touches CUDA adds each block's size on malloc and takes it off on free, so
peak = max over time of Σ live blocks. Without MemoryHook (an old or stand-in CuPy) the peak is
sampled from ``used_bytes`` whenever it is asked for.
"""
from __future__ import annotations

from typing import Any

_state: dict = {"hook": None, "tried": False}
_used: dict = {}        # device id -> bytes in live blocks seen by the hook
_peak: dict = {}        # device id -> high-water mark of _used since the last reset


def install(cupy: Any) -> None:
    """Install the hook once (thread-local in CuPy: the calling thread's allocations count)."""
    if _state["tried"]:
        return
    _state["tried"] = True
    base = getattr(getattr(cupy, "cuda", None), "MemoryHook", None)
    if base is None:
        return

    class _PeakHook(base):
        name = "chainrule-peak"

        def malloc_postprocess(self, device_id=0, mem_size=0, **_):
            used = _used.get(device_id, 0) + mem_size
            _used[device_id] = used
            if used > _peak.get(device_id, 0):
                _peak[device_id] = used

        def free_postprocess(self, device_id=0, mem_size=0, **_):
            _used[device_id] = _used.get(device_id, 0) - mem_size

    hook = _PeakHook()
    hook.__enter__()
    _state["hook"] = hook


def peak(cupy: Any, index: int) -> int:
    """The most bytes in live blocks on GPU ``index`` since the start or :func:`reset`."""
    if _state["hook"] is None:
        used = int(cupy.get_default_memory_pool().used_bytes())
        _peak[index] = max(_peak.get(index, 0), used)
    return _peak.get(index, 0)


def reset(cupy: Any, index: int) -> None:
    """Start the peak again from what is allocated now."""
    now = _used.get(index, 0) if _state["hook"] is not None else \
        int(cupy.get_default_memory_pool().used_bytes())
    _peak[index] = now
