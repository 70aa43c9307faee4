"""tests/gpu: chainrule on a CUDA GPU against its own CPU path (and PyTorch where it matters).

Every test here is marked ``gpu``; without CuPy or without a visible GPU the whole folder skips
with one reason. The modules import CuPy only inside tests, so collecting them never needs it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REASON = "no CUDA GPU / CuPy not installed"


def _cuda_ready() -> bool:
    import chainrule
    return chainrule.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.fspath)).resolve().parents]
    if not mine:
        return
    ready = _cuda_ready()
    for item in mine:
        item.add_marker(pytest.mark.gpu)
        if not ready:
            item.add_marker(pytest.mark.skip(reason=REASON))


@pytest.fixture
def cupy():
    import cupy as cp
    return cp
