"""cuda.max_memory_allocated's high-water mark (chainrule/_cuda_peak.py): bytes in live blocks,
from CuPy's malloc/free memory hooks, reset to what is live now; without MemoryHook, the pool's
used bytes sampled when asked (PyTorch's max_memory_allocated counts allocations the same way:
cached, freed blocks are not in it)."""
from __future__ import annotations

import types

import pytest

from chainrule import _cuda_peak


class _Hook:
    entered: list = []

    def __enter__(self):
        _Hook.entered.append(self)
        return self


def _fake_cupy(used: list, with_hook: bool = True):
    pool = types.SimpleNamespace(used_bytes=lambda: used[0], total_bytes=lambda: 10**9)
    cuda = types.SimpleNamespace(MemoryHook=_Hook) if with_hook else types.SimpleNamespace()
    return types.SimpleNamespace(cuda=cuda, get_default_memory_pool=lambda: pool)


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(_cuda_peak, "_state", {"hook": None, "tried": False})
    monkeypatch.setattr(_cuda_peak, "_used", {})
    monkeypatch.setattr(_cuda_peak, "_peak", {})
    _Hook.entered.clear()


def test_peak_follows_malloc_and_free_not_the_pool_reservation(fresh):
    cupy = _fake_cupy([0])
    _cuda_peak.install(cupy)
    _cuda_peak.install(cupy)                     # once only
    assert len(_Hook.entered) == 1
    hook = _Hook.entered[0]
    hook.malloc_postprocess(device_id=0, size=100, mem_size=512, mem_ptr=1, pmem_id=0)
    hook.malloc_postprocess(device_id=0, size=10, mem_size=512, mem_ptr=2, pmem_id=0)
    hook.free_postprocess(device_id=0, mem_size=512, mem_ptr=1, pmem_id=0)
    assert _cuda_peak.peak(cupy, 0) == 1024      # not the pool's 10**9 reserved
    _cuda_peak.reset(cupy, 0)
    assert _cuda_peak.peak(cupy, 0) == 512       # what is live now
    hook.malloc_postprocess(device_id=0, mem_size=256)
    assert _cuda_peak.peak(cupy, 0) == 768
    hook.malloc_postprocess(device_id=1, mem_size=64)
    assert _cuda_peak.peak(cupy, 1) == 64 and _cuda_peak.peak(cupy, 0) == 768


def test_without_memory_hook_the_pool_is_sampled(fresh):
    used = [300]
    cupy = _fake_cupy(used, with_hook=False)
    _cuda_peak.install(cupy)
    assert _cuda_peak.peak(cupy, 0) == 300
    used[0] = 100
    assert _cuda_peak.peak(cupy, 0) == 300
    _cuda_peak.reset(cupy, 0)
    assert _cuda_peak.peak(cupy, 0) == 100
