"""IterableDataset and ChainDataset through DataLoader, against torch.utils.data: batching,
drop_last, len, no sampler/shuffle, worker sharding with get_worker_info (round-robin order)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
import chainrule.utils.data as cud


def _stream(lib):
    class Range(lib.utils.data.IterableDataset):
        def __init__(self, start, end):
            self.start, self.end = start, end

        def __iter__(self):
            info = lib.utils.data.get_worker_info()
            lo, hi = self.start, self.end
            if info is not None:       # split the range between the workers
                per = int(math.ceil((hi - lo) / info.num_workers))
                lo = lo + info.id * per
                hi = min(lo + per, self.end)
            return iter(range(lo, hi))

        def __len__(self):
            return self.end - self.start
    return Range


def _values(loader):
    return [b.tolist() if hasattr(b, "tolist") else b for b in loader]


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (4, False), (4, True), (None, False)])
def test_batches_and_len_match_torch(batch_size, drop_last):
    ours = cud.DataLoader(_stream(cr)(3, 13), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(_stream(torch)(3, 13), batch_size=batch_size, drop_last=drop_last)
    assert _values(ours) == _values(theirs)
    assert len(ours) == len(theirs)
    assert _values(ours) == _values(theirs)       # a second epoch restarts the stream


def test_workers_shard_with_get_worker_info_in_torchs_order():
    ours = cud.DataLoader(_stream(cr)(0, 11), batch_size=2, num_workers=2)
    theirs = tud.DataLoader(_stream(torch)(0, 11), batch_size=2, num_workers=2)
    got = _values(ours)
    assert got == _values(theirs)
    assert sorted(sum(got, [])) == list(range(11))


def test_chain_dataset_and_plus_concatenate_streams():
    a, b = _stream(cr)(0, 3), _stream(cr)(10, 12)
    ta, tb = _stream(torch)(0, 3), _stream(torch)(10, 12)
    assert list(cud.ChainDataset([a, b])) == list(tud.ChainDataset([ta, tb]))
    assert list(a + b) == list(ta + tb) and len(cud.ChainDataset([a, b])) == 5
    loader = cud.DataLoader(cud.ChainDataset([a, b]), batch_size=2)
    assert _values(loader) == [[0, 1], [2, 10], [11]]
    assert isinstance(a, cud.Dataset)


def test_collates_tuples_of_arrays():
    class Pairs(cud.IterableDataset):
        def __iter__(self):
            for i in range(5):
                yield np.full(3, i, np.float32), i
    x, y = next(iter(cud.DataLoader(Pairs(), batch_size=4)))
    assert isinstance(x, cr.Tensor) and x.shape == (4, 3) and y.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("option", [dict(shuffle=True), dict(sampler=[0, 1]),
                                    dict(batch_sampler=[[0]])])
def test_sampler_and_shuffle_are_refused_by_name(option):
    name = next(iter(option))
    with pytest.raises(ValueError, match=f"IterableDataset.*{name}"):
        cud.DataLoader(_stream(cr)(0, 4), **option)


def test_a_failing_worker_is_reported_with_its_traceback():
    class Broken(cud.IterableDataset):
        def __iter__(self):
            raise KeyError("no such shard")
    with pytest.raises(RuntimeError, match="(?s)worker 0 failed.*no such shard"):
        list(cud.DataLoader(Broken(), num_workers=1))


def test_default_collate_is_exported():
    assert cud.default_collate([1, 2]).tolist() == [1, 2]
