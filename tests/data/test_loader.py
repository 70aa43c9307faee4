"""DataLoader: seeded order, one-fancy-index batches equal to the per-item path, lengths,
dtypes, collate, and bitwise-exact resume from a JSON state_dict."""
from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule
from chainrule import Tensor
from chainrule.data import (ArrayDataset, ConcatDataset, DataError, DataLoader, Dataset, Subset,
                            TensorDataset, ToFloat, default_collate)


def _data(n=23):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (n, 3, 2), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    return x, y


class ItemOnly(Dataset):
    """A general dataset: no get_batch, so the loader must index item by item."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i].astype(np.float32) / 255, int(self.y[i]))


def _order(loader):
    return np.concatenate([y.numpy() if hasattr(y, "numpy") else y.numpy() for _, y in loader])


def _ids(n):
    return TensorDataset(np.zeros((n, 1), np.float32), np.arange(n))


def test_batches_are_tensors_with_float32_inputs_and_int64_labels():
    x, y = _data()
    ds = ArrayDataset(x, y, transform=ToFloat(), num_classes=10)
    xb, yb = next(iter(DataLoader(ds, batch_size=8)))
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.dtype == chainrule.float32 and yb.dtype == chainrule.int64
    assert xb.shape == (8, 3, 2) and yb.shape == (8,)
    np.testing.assert_array_equal(xb.numpy(), x[:8].astype(np.float32) / np.float32(255))
    assert not xb.requires_grad


@pytest.mark.parametrize("n,bs", [(23, 5), (20, 5), (3, 5), (1, 1), (0, 4)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_batch_sizes(n, bs, drop_last):
    loader = DataLoader(_ids(n), batch_size=bs, shuffle=True, drop_last=drop_last, generator=0)
    sizes = [len(y) for _, y in loader]
    want = n // bs if drop_last else -(-n // bs)
    assert len(loader) == want == len(sizes)
    assert all(s == bs for s in sizes[:-1]) and all(0 < s <= bs for s in sizes)
    if drop_last:
        assert sum(sizes) == bs * (n // bs)
    else:
        assert sum(sizes) == n


def test_unshuffled_order_is_the_dataset_order():
    assert _order(DataLoader(_ids(11), batch_size=4)).tolist() == list(range(11))


def test_shuffle_is_a_permutation_reproducible_from_the_seed():
    a = DataLoader(_ids(50), batch_size=7, shuffle=True, generator=123)
    b = DataLoader(_ids(50), batch_size=7, shuffle=True, generator=123)
    c = DataLoader(_ids(50), batch_size=7, shuffle=True, generator=124)
    epochs_a = [_order(a) for _ in range(3)]
    epochs_b = [_order(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        assert sorted(ea.tolist()) == list(range(50))
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])  # a new permutation each epoch
    assert not np.array_equal(epochs_a[0], _order(c))
    # the loader's generator is a NumPy PCG64 seeded with the int: order = permutation(n)
    np.testing.assert_array_equal(epochs_a[0], np.random.default_rng(123).permutation(50))


def test_manual_seed_makes_the_default_generator_reproducible():
    chainrule.manual_seed(7)
    a = DataLoader(_ids(40), batch_size=8, shuffle=True)
    chainrule.manual_seed(7)
    b = DataLoader(_ids(40), batch_size=8, shuffle=True)
    order7 = _order(a)
    np.testing.assert_array_equal(order7, _order(b))
    # the loader owns its generator: drawing from chainrule's generator after construction
    # does not change its order
    chainrule.manual_seed(7)
    c = DataLoader(_ids(40), batch_size=8, shuffle=True)
    chainrule.backend.default_generator().random(5)
    chainrule.manual_seed(7)
    d = DataLoader(_ids(40), batch_size=8, shuffle=True)
    np.testing.assert_array_equal(_order(c), _order(d))
    chainrule.manual_seed(8)
    e = DataLoader(_ids(40), batch_size=8, shuffle=True)
    assert not np.array_equal(_order(e), order7)


def test_accepts_a_numpy_generator():
    g = np.random.default_rng(5)
    loader = DataLoader(_ids(30), batch_size=4, shuffle=True, generator=g)
    np.testing.assert_array_equal(_order(loader), np.random.default_rng(5).permutation(30))
    assert loader.generator is g


@pytest.mark.parametrize("wrap", ["array", "tensor_dataset", "subset", "concat"])
def test_one_fancy_index_equals_the_per_item_path(wrap):
    x, y = _data(37)
    if wrap == "array":
        ds = ArrayDataset(x, y, transform=ToFloat(), num_classes=10)
    elif wrap == "tensor_dataset":
        ds = TensorDataset(chainrule.tensor(x.astype(np.float32)), y.astype(np.int64))
    elif wrap == "subset":
        ds = Subset(ArrayDataset(x, y, transform=ToFloat()), np.arange(36, 0, -2))
    else:
        ds = ConcatDataset([ArrayDataset(x[:10], y[:10], transform=ToFloat()),
                            ArrayDataset(x[10:], y[10:], transform=ToFloat())])
    assert ds.batchable
    fast = DataLoader(ds, batch_size=6, shuffle=True, generator=3)
    slow = DataLoader(ds, batch_size=6, shuffle=True, generator=3, collate_fn=default_collate)
    assert fast._batched and not slow._batched
    n = 0
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        n += 1
    assert n == len(fast)


def test_batched_path_does_not_index_item_by_item():
    x, y = _data(40)

    class Counting(ArrayDataset):
        calls = 0

        def __getitem__(self, i):
            Counting.calls += 1
            return super().__getitem__(i)

    ds = Counting(x, y)
    gets = []
    orig = ds.get_batch
    ds.get_batch = lambda idx: gets.append(len(idx)) or orig(idx)
    list(DataLoader(ds, batch_size=16, shuffle=True, generator=0))
    assert Counting.calls == 0 and gets == [16, 16, 8]


def test_general_dataset_uses_getitem_and_default_collate():
    x, y = _data(10)
    loader = DataLoader(ItemOnly(x, y), batch_size=4)
    xb, yb = next(iter(loader))
    assert xb.dtype == chainrule.float32 and yb.dtype == chainrule.int64
    np.testing.assert_array_equal(yb.numpy(), y[:4])
    assert [len(b[1]) for b in loader] == [4, 4, 2]


def test_custom_collate_fn_gets_the_list_of_items():
    x, y = _data(6)
    seen = []
    loader = DataLoader(ArrayDataset(x, y), batch_size=4,
                        collate_fn=lambda items: seen.append(len(items)) or len(items))
    assert list(loader) == [4, 2] and seen == [4, 2]


def test_default_collate_structures():
    out = default_collate([{"a": 1.5, "b": (np.ones(2), 3)}, {"a": 2.5, "b": (np.zeros(2), 4)}])
    assert out["a"].dtype == chainrule.float32
    assert out["b"][0].shape == (2, 2) and out["b"][1].numpy().tolist() == [3, 4]
    assert default_collate([True, False]).dtype == chainrule.bool_
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="cannot collate items of type object"):
        default_collate([object(), object()])



def test_default_collate_of_mixed_python_numbers_keeps_their_values():
    mixed = default_collate([1, 2.5, 3])           # was truncated to int64 [1, 2, 3]
    assert mixed.dtype == chainrule.float32 and mixed.numpy().tolist() == [1.0, 2.5, 3.0]
    ints = default_collate([True, 2, 0])           # was bool [True, True, False]
    assert ints.dtype == chainrule.int64 and ints.numpy().tolist() == [1, 2, 0]
    assert default_collate([0, 1]).dtype == chainrule.int64
    with pytest.raises(TypeError, match=r"a batch of numbers also holds a NoneType \(None\)"):
        default_collate([1, None])
    with pytest.raises(DataError, match=r"default_collate: batch: value 1e300 at index 1 "
                                        r"overflows float32"):
        default_collate([0.5, 1e300])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])  # None: no batching, as PyTorch
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(_ids(4), batch_size=bad)


def test_bad_generator():
    with pytest.raises(TypeError, match="DataLoader: generator must be"):
        DataLoader(_ids(4), shuffle=True, generator="seed")


# ---- exact resume ---------------------------------------------------------------------------
def _run(loader, n_batches):
    """Take ``n_batches`` batches across epochs, as a training loop would."""
    out = []
    while len(out) < n_batches:
        for _, y in loader:
            out.append(y.numpy().copy())
            if len(out) == n_batches:
                return out
    return out


@pytest.mark.parametrize("stop", [0, 1, 4, 5, 6, 13])
def test_state_dict_resumes_bitwise_through_json(stop):
    """Stopping after ``stop`` batches (5 per epoch), saving, and resuming in a new loader gives
    exactly the batches an uninterrupted loader gives."""
    x, y = _data(23)
    make = lambda: DataLoader(ArrayDataset(x, np.arange(23)), batch_size=5, shuffle=True)  # noqa: E731
    chainrule.manual_seed(11)
    reference = _run(make(), 20)

    chainrule.manual_seed(11)
    first = make()
    it = iter(first)
    got = []
    while len(got) < stop:
        try:
            got.append(next(it)[1].numpy().copy())
        except StopIteration:
            it = iter(first)
    state = json.loads(json.dumps(first.state_dict()))
    assert state["epoch"] == stop // 5 and state["position"] == (stop % 5 if state["in_epoch"] else 0)

    chainrule.manual_seed(999)  # a resumed run's own seeding must not matter
    second = make()
    second.load_state_dict(state)
    assert second.state_dict() == state
    got += _run(second, 20 - stop)
    assert len(got) == 20
    for a, b in zip(reference, got):
        np.testing.assert_array_equal(a, b)


def test_finished_epoch_is_recorded_when_its_last_batch_is_handed_out():
    loader = DataLoader(_ids(10), batch_size=5, shuffle=True, generator=0)
    it = iter(loader)
    next(it)
    assert loader.state_dict()["in_epoch"] and loader.state_dict()["position"] == 1
    next(it)
    s = loader.state_dict()
    assert not s["in_epoch"] and s["epoch"] == 1 and loader.epoch == 1


def test_state_dict_rejects_a_different_loader():
    a = DataLoader(_ids(10), batch_size=5, shuffle=True, generator=0)
    with pytest.raises(ValueError, match="batch_size=5 but this loader has batch_size=4"):
        DataLoader(_ids(10), batch_size=4, shuffle=True, generator=0).load_state_dict(
            a.state_dict())
    with pytest.raises(ValueError, match="num_samples"):
        DataLoader(_ids(11), batch_size=5, shuffle=True, generator=0).load_state_dict(
            a.state_dict())


def test_state_of_other_bit_generators_is_json_serialisable():
    g = np.random.Generator(np.random.MT19937(3))
    a = DataLoader(_ids(30), batch_size=4, shuffle=True, generator=g)
    it = iter(a)
    next(it)
    state = json.loads(json.dumps(a.state_dict()))
    rest = [b[1].numpy() for b in it]
    b = DataLoader(_ids(30), batch_size=4, shuffle=True,
                   generator=np.random.Generator(np.random.MT19937(0)))
    b.load_state_dict(state)
    for r, (_, yb) in zip(rest, b, strict=True):
        np.testing.assert_array_equal(r, yb.numpy())
