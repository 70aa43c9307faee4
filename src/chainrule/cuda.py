"""``chainrule.cuda``: is CUDA usable, how many GPUs, synchronising and memory statistics.

Everything goes through CuPy, imported on first use. :func:`is_available` and
:func:`device_count` never raise (False / 0 without CuPy or without a GPU). Without a GPU the rest
answer as PyTorch's CPU build does: ``memory_allocated``/``max_memory_allocated`` return 0 and
``empty_cache`` returns None; ``synchronize``/``current_device`` raise
:class:`CUDANotCompiledError` (an AssertionError, as PyTorch) and ``reset_peak_memory_stats``
:class:`CUDAStatsUnavailableError` (an AttributeError, as PyTorch), both
:class:`~chainrule.devices.CUDAUnavailableError` errors saying what is missing.
"""
from __future__ import annotations

from typing import Any

from . import devices
from .devices import CUDAUnavailableError

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize",
           "memory_allocated", "max_memory_allocated", "reset_peak_memory_stats", "empty_cache",
           "manual_seed", "manual_seed_all", "CUDAUnavailableError"]

_current = [0]


class CUDANotCompiledError(CUDAUnavailableError, AssertionError):
    """What :func:`synchronize` and :func:`current_device` raise without CUDA: also an
    AssertionError, the type PyTorch's CPU build raises there ("not compiled with CUDA")."""


class CUDAStatsUnavailableError(CUDAUnavailableError, AttributeError):
    """What :func:`reset_peak_memory_stats` raises without CUDA: also an AttributeError, the type
    PyTorch's CPU build raises there."""


def _cpu_build(answer=None, error: type | None = None):
    """Without a usable GPU, answer as PyTorch's CPU build does: return ``answer`` (0 for the
    memory counters, None for ``empty_cache``) or raise ``error`` with chainrule's message."""
    def wrap(fn):
        def inner(*args, **kwargs):
            if devices.cupy_status()[1] is None:
                return fn(*args, **kwargs)
            if error is None:
                return answer
            try:
                devices.require_cuda(f"cuda.{fn.__name__}()")
            except CUDAUnavailableError as exc:
                raise error(str(exc)) from None
        inner.__name__, inner.__qualname__, inner.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        inner.__wrapped__ = fn
        return inner
    return wrap


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    return devices.cupy_status()[1] is None


def device_count() -> int:
    """The number of visible GPUs (0 without CuPy or a driver)."""
    cupy, why = devices.cupy_status()
    return 0 if why is not None else devices._gpu_count(cupy)


@_cpu_build(error=CUDANotCompiledError)
def current_device() -> int:
    """The index of the GPU that ``'cuda'`` means (0 unless :func:`set_device` changed it)."""
    devices.require_cuda("cuda.current_device()")
    return _current[0]


def set_device(dev: Any) -> None:
    """Make ``dev`` (an index, ``'cuda:N'`` or a device) the current GPU."""
    index = dev if isinstance(dev, int) else (devices.as_device(dev).index or 0)
    cupy = devices.require_cuda(f"cuda.set_device({dev!r})", index)
    cupy.cuda.Device(index).use()
    _current[0] = index


def _index(dev: Any) -> int:
    if dev is None:
        return _current[0]
    return dev if isinstance(dev, int) else (devices.as_device(dev).index or 0)


@_cpu_build(error=CUDANotCompiledError)
def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on the GPU has finished (timings need this)."""
    index = _index(device)
    cupy = devices.require_cuda("cuda.synchronize()", index)
    with cupy.cuda.Device(index):
        cupy.cuda.Device(index).synchronize()
    devices.raise_deferred()


@_cpu_build(0)
def memory_allocated(device: Any = None) -> int:
    """Bytes held by arrays now, as CuPy's memory pool counts them."""
    cupy = devices.require_cuda("cuda.memory_allocated()", _index(device))
    return int(cupy.get_default_memory_pool().used_bytes())


@_cpu_build(0)
def max_memory_allocated(device: Any = None) -> int:
    """The most bytes allocated to arrays at once since chainrule first used CUDA or the last
    :func:`reset_peak_memory_stats` (the pool's blocks, cached ones not counted), as PyTorch's."""
    from . import _cuda_peak
    index = _index(device)
    cupy = devices.require_cuda("cuda.max_memory_allocated()", index)
    return _cuda_peak.peak(cupy, 0 if index is None else index)


@_cpu_build(error=CUDAStatsUnavailableError)
def reset_peak_memory_stats(device: Any = None) -> None:
    """Start counting the peak again from what is in use now."""
    from . import _cuda_peak
    index = _index(device)
    cupy = devices.require_cuda("cuda.reset_peak_memory_stats()", index)
    _cuda_peak.reset(cupy, 0 if index is None else index)


@_cpu_build(None)
def empty_cache() -> None:
    """Give the memory pool's unused blocks back to the driver."""
    cupy = devices.require_cuda("cuda.empty_cache()")
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the GPU's random generator (CuPy's); quietly does nothing without CUDA, as
    PyTorch's does, so CPU-only scripts can call it."""
    cupy, why = devices.cupy_status()
    if why is None:
        from . import backend
        cupy.random.seed(int(seed))
        backend.mark_gpu_seeded(_current[0])


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator (CuPy keeps one per device)."""
    cupy, why = devices.cupy_status()
    if why is None:
        from . import backend
        for index in range(devices._gpu_count(cupy)):
            with cupy.cuda.Device(index):
                cupy.random.seed(int(seed))
            backend.mark_gpu_seeded(index)
