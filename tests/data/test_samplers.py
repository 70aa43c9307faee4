"""Samplers and the DataLoader's signature, against torch.utils.data where PyTorch is
deterministic (sequential order, batch grouping, drop_last, the argument errors)."""
import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler,
                            SubsetRandomSampler, TensorDataset, WeightedRandomSampler)


def _pair(n: int):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y), tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def _as_lists(loader):
    return [[np.asarray(t.numpy() if hasattr(t, "numpy") else t).tolist() for t in b]
            for b in loader]


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_sampler_matches_torch(n):
    assert list(SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))
    assert len(SequentialSampler(range(n))) == n


@pytest.mark.parametrize("n,size,drop", [(10, 3, False), (10, 3, True), (9, 3, True),
                                         (2, 5, False), (2, 5, True)])
def test_batch_sampler_matches_torch(n, size, drop):
    ours = BatchSampler(SequentialSampler(range(n)), size, drop)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), size, drop)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                    dict(batch_size=None), dict(batch_size=20)])
def test_loader_batches_match_torch(kwargs):
    ours, theirs = _pair(10)
    mine, ref = DataLoader(ours, **kwargs), tud.DataLoader(theirs, **kwargs)
    assert len(mine) == len(ref)
    assert _as_lists(mine) == _as_lists(ref)


def test_a_batch_sampler_drives_the_loader_as_in_torch():
    ours, theirs = _pair(11)
    groups = [[3, 1], [10, 0, 5], [7]]
    assert _as_lists(DataLoader(ours, batch_sampler=groups)) == \
        _as_lists(tud.DataLoader(theirs, batch_sampler=groups))
    assert len(DataLoader(ours, batch_sampler=groups)) == 3


def test_a_sampler_gives_the_order_as_in_torch():
    ours, theirs = _pair(9)
    order = [8, 2, 4, 0, 1]
    assert _as_lists(DataLoader(ours, sampler=order, batch_size=2)) == \
        _as_lists(tud.DataLoader(theirs, sampler=order, batch_size=2))


BAD = [dict(sampler=[0, 1], shuffle=True),
       dict(batch_sampler=[[0]], batch_size=2),
       dict(batch_sampler=[[0]], shuffle=True),
       dict(batch_sampler=[[0]], sampler=[0]),
       dict(batch_sampler=[[0]], drop_last=True),
       dict(batch_size=None, drop_last=True),
       dict(num_workers=-1),
       dict(timeout=-1),
       dict(prefetch_factor=2),
       dict(persistent_workers=True)]


@pytest.mark.parametrize("kwargs", BAD, ids=lambda k: ",".join(k))
def test_bad_combinations_are_refused_as_in_torch(kwargs):
    ours, theirs = _pair(4)
    with pytest.raises(ValueError):
        tud.DataLoader(theirs, **kwargs)
    with pytest.raises(ValueError, match="DataLoader: .*option"):
        DataLoader(ours, **kwargs)


def test_random_sampler_is_a_reproducible_permutation():
    a = list(RandomSampler(range(20), generator=3))
    assert sorted(a) == list(range(20))
    assert a == list(RandomSampler(range(20), generator=3))
    cr.manual_seed(1)
    first = list(RandomSampler(range(20)))
    cr.manual_seed(1)
    assert list(RandomSampler(range(20))) == first


def test_random_sampler_with_replacement_and_num_samples():
    draws = list(RandomSampler(range(5), replacement=True, num_samples=50, generator=0))
    assert len(draws) == 50 and set(draws) <= set(range(5)) and len(set(draws)) > 1
    more = list(RandomSampler(range(4), num_samples=10, generator=0))
    assert len(more) == 10 and sorted(more[:4]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(4), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(4), replacement=1)


def test_subset_random_sampler_permutes_the_given_indices():
    got = list(SubsetRandomSampler([9, 4, 7], generator=2))
    assert sorted(got) == [4, 7, 9] and len(SubsetRandomSampler([9, 4, 7])) == 3


def test_weighted_random_sampler_never_draws_a_zero_weight():
    got = list(WeightedRandomSampler([0.0, 1.0, 3.0], 200, generator=0))
    assert set(got) == {1, 2} and got.count(2) > got.count(1)
    assert sorted(WeightedRandomSampler([1, 0, 1, 1], 3, replacement=False,
                                        generator=0)) == [0, 2, 3]
    with pytest.raises(ValueError, match="weights"):
        WeightedRandomSampler([0.0, 0.0], 3)
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_shuffle_still_draws_the_loaders_permutation():
    ours, _ = _pair(12)
    loader = DataLoader(ours, batch_size=5, shuffle=True, generator=7)
    seen = np.concatenate([y.numpy() for _, y in loader])
    np.testing.assert_array_equal(seen, np.random.Generator(np.random.PCG64(7)).permutation(12))


def test_utils_data_has_torchs_names():
    import chainrule.utils.data as ud
    for name in ("DataLoader", "Dataset", "TensorDataset", "Subset", "ConcatDataset",
                 "random_split", "get_worker_info", "default_collate", "Sampler",
                 "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
                 "WeightedRandomSampler", "BatchSampler"):
        assert hasattr(tud, name) and getattr(ud, name) is getattr(cr.data, name)
    assert cr.utils.data.DataLoader is DataLoader and ud.get_worker_info() is None


@pytest.mark.parametrize("kwargs", [dict(multiprocessing_context="spawn"),
                                    dict(multiprocessing_context="no-such-method",
                                         num_workers=2)])
def test_a_start_method_is_checked_when_the_loader_is_made_as_in_torch(kwargs):
    ours, theirs = _pair(4)
    with pytest.raises(ValueError):
        tud.DataLoader(theirs, **kwargs)
    with pytest.raises(ValueError, match="DataLoader: multiprocessing_context"):
        DataLoader(ours, **kwargs)
