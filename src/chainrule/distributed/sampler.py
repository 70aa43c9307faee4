"""``DistributedSampler``: each rank's share of a dataset's indices, exactly as PyTorch's.

PyTorch shuffles with ``torch.randperm(n)`` from a CPU generator seeded ``seed + epoch``; that
permutation is reproduced here with NumPy alone (:func:`torch_randperm`), so a chainrule run and
a PyTorch run visit the same samples on the same ranks.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from ..data.samplers import Sampler

# Below this size PyTorch's CPU randperm swaps forward with 32-bit draws; above it, it runs
# the "inside-out" shuffle with 64-bit draws (so the modulo stays unbiased).
_SMALL_RANDPERM = (2 ** 32 - 1) // 20


def _mt19937_seeded(seed: int) -> np.random.MT19937:
    """A Mersenne Twister in the state ``torch.Generator().manual_seed(seed)`` leaves it:
    the standard 32-bit initialisation (init_genrand) of ``seed`` modulo 2**32."""
    _, key, pos, _, _ = np.random.RandomState(seed % 2 ** 32).get_state()
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
    return bits


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``.

    For n below 2**32/20: a[i] ↔ a[i + u_i mod (n - i)] for i = 0..n-2, u_i the i-th 32-bit
    output; above: a[i] = i, then a[i] ↔ a[v_i mod (i + 1)], v_i = (u_2i << 32) | u_2i+1."""
    bits = _mt19937_seeded(seed)
    perm = list(range(n))
    if n < 2:
        return perm
    if n < _SMALL_RANDPERM:
        offsets = (bits.random_raw(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        for i, z in enumerate(offsets):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return perm
    raw = bits.random_raw(2 * n).reshape(n, 2)  # pragma: no cover - needs > 1.7 GB to test
    draws = ((raw[:, 0] << np.uint64(32)) | raw[:, 1]) % np.arange(1, n + 1, dtype=np.uint64)
    for i, z in enumerate(draws.tolist()):
        perm[i] = perm[z]
        perm[z] = i
    return perm


class DistributedSampler(Sampler):
    """Rank ``rank``'s indices of ``dataset`` among ``num_replicas`` ranks (defaults: this
    world's), as ``torch.utils.data.DistributedSampler``: shuffled by ``seed + epoch`` (call
    :meth:`set_epoch` each epoch), padded by repeating indices so every rank gets the same count
    (or, with ``drop_last``, trimmed), then dealt round-robin: rank r takes r, r+R, r+2R, ..."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        from . import world
        if num_replicas is None:
            num_replicas = world.get_world_size()
        if rank is None:
            rank = world.get_rank()
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) \
                or num_replicas < 1:
            raise ValueError("DistributedSampler: num_replicas should be a positive integer, "
                             f"got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in "
                             f"the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), \
            bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        elif self.total_size > n:
            padding = self.total_size - n
            indices += (indices * math.ceil(padding / n))[:padding]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next shuffle (each rank must pass the same number)."""
        self.epoch = int(epoch)
