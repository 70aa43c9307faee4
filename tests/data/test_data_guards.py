"""Guards on batching arithmetic a random test rarely hits: sizes of random_split's parts against
PyTorch's, ConcatDataset batches across a boundary, a DataLoader's last (short or dropped)
batch, and the exact values of ToFloat and Normalize."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from chainrule.data import (ArrayDataset, ConcatDataset, DataLoader, Dataset, Normalize,
                            ToFloat, random_split)


class _Indices(Dataset):
    """Item i is (name, i) for 0 <= i < n: it shows exactly which index a wrapper asked for
    (a negative index is an error here, not a wrap-around)."""

    def __init__(self, name: str, n: int):
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(f"{self.name}: index {i} outside [0, {self.n})")
        return self.name, i


@pytest.mark.parametrize("n,fractions", [(9, [0.3, 0.3, 0.4]), (11, [0.25, 0.25, 0.25, 0.25]),
                                         (7, [0.5, 0.5]), (10, [0.1, 0.9])])
def test_random_split_part_sizes_match_torch(n, fractions):
    ours = [len(s) for s in random_split(ArrayDataset(np.arange(n)), fractions, generator=0)]
    theirs = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs
    parts = random_split(ArrayDataset(np.arange(n)), fractions, generator=0)
    seen = np.sort(np.concatenate([np.asarray(p.indices) for p in parts]))
    np.testing.assert_array_equal(seen, np.arange(n))


def test_concat_dataset_batches_across_the_boundary_equal_its_items():
    a = ArrayDataset(np.arange(3, dtype=np.float32)[:, None], np.array([0, 1, 2]))
    b = ArrayDataset(np.arange(10, 12, dtype=np.float32)[:, None], np.array([3, 4]))
    c = ArrayDataset(np.arange(20, 24, dtype=np.float32)[:, None], np.array([5, 6, 7, 8]))
    ds = ConcatDataset([a, b, c])
    idx = np.array([3, 2, 5, 4, 0, 8, 3])          # each boundary (3, 5) and the last item
    xb, yb = ds.get_batch(idx)
    items = [ds[int(i)] for i in idx]
    np.testing.assert_array_equal(np.asarray(xb).ravel(),
                                  [float(np.asarray(x).ravel()[0]) for x, _ in items])
    np.testing.assert_array_equal(np.asarray(yb), [int(np.asarray(y)) for _, y in items])
    np.testing.assert_array_equal(np.asarray(yb), [3, 2, 5, 4, 0, 8, 3])


def test_concat_dataset_asks_each_part_for_its_local_index():
    ds = ConcatDataset([_Indices("a", 3), _Indices("b", 2), _Indices("c", 4)])
    assert [ds[i] for i in range(9)] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1),
                                         ("c", 0), ("c", 1), ("c", 2), ("c", 3)]
    assert ds[-1] == ("c", 3) and ds[-6] == ("b", 0)


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batches_cover_the_data_with_a_short_or_dropped_last_batch(drop_last):
    n, bs = 10, 4
    ds = ArrayDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))
    loader = DataLoader(ds, batch_size=bs, drop_last=drop_last)
    sizes = [len(np.asarray(y)) for _, y in loader]
    assert sizes == ([4, 4] if drop_last else [4, 4, 2])
    assert len(loader) == len(sizes)
    labels = np.concatenate([np.asarray(y) for _, y in loader])
    np.testing.assert_array_equal(labels, np.arange(8 if drop_last else 10))


def test_shuffled_loader_draws_a_new_order_each_epoch_and_is_reproducible():
    ds = ArrayDataset(np.arange(20, dtype=np.float32)[:, None], np.arange(20))
    orders = []
    for _ in range(2):
        loader = DataLoader(ds, batch_size=5, shuffle=True, generator=7)
        orders.append([np.concatenate([np.asarray(y) for _, y in loader]) for _ in range(2)])
    (e1, e2), (f1, _) = orders
    np.testing.assert_array_equal(e1, f1)             # same seed, same first epoch
    assert not np.array_equal(e1, e2)                 # the next epoch is a new permutation
    assert not np.array_equal(e1, np.arange(20))      # and it is shuffled at all
    np.testing.assert_array_equal(np.sort(e1), np.arange(20))


def test_to_float_divides_uint8_by_255_exactly_as_torch():
    x = np.array([0, 1, 127, 128, 254, 255], np.uint8)
    expected = (torch.tensor(x).float() / 255).numpy()
    np.testing.assert_array_equal(ToFloat()(x[None])[0], expected)


def test_normalize_subtracts_the_mean_then_divides_by_std():
    x = np.array([[1.0, 4.0, 9.0]], np.float32)
    out = Normalize(mean=2.0, std=4.0)(x)
    np.testing.assert_allclose(out, [[-0.25, 0.5, 1.75]], rtol=1e-6)
