"""tests/gpu's CHAINRULE_GPU_SHARD=k/n split (bench/gpu_check.sh runs n pytest processes side by
side): the n shards partition the folder's tests, and a malformed value is a clear error."""
from __future__ import annotations

import types

import pytest

from tests.gpu import conftest as gpu_conftest


class _Item:
    def __init__(self, i: int):
        self.fspath = gpu_conftest.HERE / f"test_{i % 3}.py"
        self.name = f"t{i}"
        self.markers: list = []

    def add_marker(self, marker):
        self.markers.append(marker)


def _select(monkeypatch, value: str | None, n_items: int = 23):
    if value is None:
        monkeypatch.delenv(gpu_conftest.SHARD_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(gpu_conftest.SHARD_VARIABLE, value)
    items = [_Item(i) for i in range(n_items)]
    dropped: list = []
    config = types.SimpleNamespace(hook=types.SimpleNamespace(
        pytest_deselected=lambda items: dropped.extend(items)))
    gpu_conftest.pytest_collection_modifyitems(config, items)
    return [it.name for it in items], [it.name for it in dropped]


def test_shards_partition_the_gpu_tests(monkeypatch):
    everything, none = _select(monkeypatch, None)
    assert len(everything) == 23 and none == []
    kept = []
    for k in range(8):
        names, dropped = _select(monkeypatch, f"{k}/8")
        assert sorted(names + dropped) == sorted(everything)
        kept += names
    assert sorted(kept) == sorted(everything)          # each test in exactly one shard


@pytest.mark.parametrize("value", ["3", "a/8", "8/8", "-1/8"])
def test_a_malformed_shard_is_a_usage_error(monkeypatch, value):
    with pytest.raises(pytest.UsageError, match=gpu_conftest.SHARD_VARIABLE):
        _select(monkeypatch, value)
