"""DistributedSampler gives exactly torch.utils.data.DistributedSampler's indices (no mpiexec)."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import DistributedSampler as TorchSampler

import chainrule
from chainrule.distributed.sampler import DistributedSampler, torch_randperm


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 100, 1000, 4099])
@pytest.mark.parametrize("seed", [0, 1, 41, 2 ** 31 - 1, 2 ** 32 + 5, 2 ** 40 + 7, -3])
def test_randperm_is_torchs(n, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    assert torch_randperm(n, seed) == torch.randperm(n, generator=g).tolist()


CASES = list(itertools.product([1, 2, 5, 10, 11, 64, 97], [1, 2, 3, 4, 8], [True, False],
                               [False, True], [0, 7], [0, 3]))


@pytest.mark.parametrize("n,replicas,shuffle,drop_last,seed,epoch", CASES)
def test_indices_match_torch(n, replicas, shuffle, drop_last, seed, epoch):
    ds = Sized(n)
    for rank in range(replicas):
        ours = DistributedSampler(ds, num_replicas=replicas, rank=rank, shuffle=shuffle,
                                  seed=seed, drop_last=drop_last)
        theirs = TorchSampler(ds, num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                              drop_last=drop_last)
        ours.set_epoch(epoch)
        theirs.set_epoch(epoch)
        assert len(ours) == len(theirs)
        assert list(ours) == list(theirs), (rank, replicas)


def test_epochs_reshuffle_and_ranks_partition_the_dataset():
    ds = Sized(30)
    samplers = [DistributedSampler(ds, num_replicas=3, rank=r, seed=5) for r in range(3)]
    first = [list(s) for s in samplers]
    assert sorted(sum(first, [])) == list(range(30))
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != first


def test_defaults_are_this_world_and_bad_ranks_are_refused():
    s = DistributedSampler(Sized(5))
    assert (s.num_replicas, s.rank) == (chainrule.distributed.get_world_size(),
                                       chainrule.distributed.get_rank())
    with pytest.raises(ValueError, match=r"invalid rank 2.*\[0, 1\]"):
        DistributedSampler(Sized(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(Sized(5), num_replicas=0, rank=0)


def test_import_paths():
    import chainrule.utils.data.distributed as ud
    assert ud.DistributedSampler is DistributedSampler
    assert chainrule.utils.data.DistributedSampler is DistributedSampler
    assert chainrule.data.DistributedSampler is DistributedSampler


def test_works_with_the_dataloader():
    from chainrule.data import DataLoader, TensorDataset
    import numpy as np
    ds = TensorDataset(np.arange(10, dtype=np.float32))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=1))
    got = sorted(int(v) for (b,) in loader for v in b.numpy())
    assert got == sorted(DistributedSampler(ds, num_replicas=2, rank=1))
