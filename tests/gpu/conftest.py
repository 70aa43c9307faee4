"""tests/gpu: chainrule on a CUDA GPU against its own CPU path (and PyTorch where it matters).

Every test here is marked ``gpu``; without CuPy or without a visible GPU the whole folder skips
with one reason. The modules import CuPy only inside tests, so collecting them never needs it.
``CHAINRULE_GPU_SHARD=k/n`` keeps every n-th test from the k-th (0 ≤ k < n) and deselects the
rest: bench/gpu_check.sh runs n such pytest processes side by side (no pytest-xdist needed).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REASON = "no CUDA GPU / CuPy not installed"
SHARD_VARIABLE = "CHAINRULE_GPU_SHARD"


def _shard() -> tuple[int, int] | None:
    """(k, n) from CHAINRULE_GPU_SHARD='k/n', None when unset; a clear error when malformed."""
    value = os.environ.get(SHARD_VARIABLE, "").strip()
    if not value:
        return None
    try:
        k, n = (int(part) for part in value.split("/"))
    except ValueError:
        raise pytest.UsageError(f"{SHARD_VARIABLE}={value!r}: expected 'k/n' with integers, "
                                "e.g. 0/8") from None
    if not 0 <= k < n:
        raise pytest.UsageError(f"{SHARD_VARIABLE}={value!r}: need 0 <= k < n")
    return k, n


def _cuda_ready() -> bool:
    import chainrule
    return chainrule.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.fspath)).resolve().parents]
    if not mine:
        return
    shard = _shard()
    if shard is not None:
        k, n = shard
        keep = {id(item) for i, item in enumerate(mine) if i % n == k}
        dropped = [item for item in mine if id(item) not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            gone = {id(item) for item in dropped}
            items[:] = [item for item in items if id(item) not in gone]
            mine = [item for item in mine if id(item) in keep]
    ready = _cuda_ready()
    for item in mine:
        item.add_marker(pytest.mark.gpu)
        if not ready:
            item.add_marker(pytest.mark.skip(reason=REASON))


@pytest.fixture
def cupy():
    import cupy as cp
    return cp
