"""TensorDataset, ArrayDataset (and its bad-data checks), Subset, ConcatDataset, random_split."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import Tensor
from chainrule.data import (ArrayDataset, ConcatDataset, DataError, Dataset, Subset,
                            TensorDataset, ToFloat, random_split)


def test_tensor_dataset_items_and_batches():
    x = chainrule.tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = np.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6 and ds.batchable
    xi, yi = ds[4]
    assert isinstance(xi, Tensor) and xi.numpy().tolist() == [8.0, 9.0] and int(yi.item()) == 4
    xb, yb = ds.get_batch(np.array([5, 0]))
    assert xb.tolist() == [[10, 11], [0, 1]] and yb.tolist() == [5, 0]
    assert [t.shape for t in ds.tensors] == [(6, 2), (6,)]
    with pytest.raises(DataError, match=r"different lengths.*\(6, 2\), \(5,\)"):
        TensorDataset(x, np.arange(5))


def test_array_dataset_casts_labels_and_applies_transforms_per_batch():
    x = np.full((4, 2, 2), 255, np.uint8)
    ds = ArrayDataset(x, np.array([0, 1, 2, 3], np.uint8), transform=ToFloat(),
                      target_transform=lambda y: y + 1, num_classes=4)
    assert ds.targets.dtype == np.int64
    xb, yb = ds.get_batch(np.array([1, 2]))
    assert xb.dtype == np.float32 and np.all(xb == 1.0) and yb.tolist() == [2, 3]
    xi, yi = ds[3]
    assert xi.shape == (2, 2) and xi.dtype == np.float32 and yi == 4


def test_array_dataset_bad_data():
    with pytest.raises(DataError, match=r"mine: images and labels of different lengths: 3 "
                                        r"inputs but 2 targets"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(2, np.int64), source="mine")
    x = np.zeros((4, 3), np.float32)
    x[2, 1] = np.nan
    with pytest.raises(DataError, match=r"mine: NaN in inputs \(1 item\(s\), first at item 2\)"):
        ArrayDataset(x, np.zeros(4, np.int64), source="mine")
    with pytest.raises(DataError, match=r"labels out of range: label 10 at item 1; expected "
                                        r"0 <= label < 10"):
        ArrayDataset(np.zeros((3, 2)), np.array([0, 10, 2]), num_classes=10)
    with pytest.raises(DataError, match=r"label -1 at item 2"):
        ArrayDataset(np.zeros((3, 2)), np.array([0, 1, -1]), num_classes=10)
    with pytest.raises(DataError, match="NaN in targets"):
        ArrayDataset(np.zeros((2, 2)), np.array([0.5, np.nan]))
    # check=False skips the scan (for data checked elsewhere)
    assert len(ArrayDataset(x, np.zeros(4, np.int64), check=False)) == 4


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_array_dataset_refuses_non_finite_inputs_and_targets_naming_array_and_index(value):
    label = {np.inf: "inf", -np.inf: "-inf"}.get(value, "NaN")
    shown = {np.inf: "inf", -np.inf: "-inf"}.get(value, "nan")
    x = np.zeros((5, 2, 3), np.float32)
    x[3, 1, 2] = value
    x[4, 0, 0] = value
    with pytest.raises(DataError, match=rf"mine: {label} in inputs \(2 item\(s\), first at item "
                                        rf"3\): inputs\[3, 1, 2\] = {shown}"):
        ArrayDataset(x, np.zeros(5, np.int64), source="mine")
    y = np.zeros((5, 1), np.float64)
    y[2, 0] = value
    with pytest.raises(DataError, match=rf"{label} in targets \(1 item\(s\), first at item 2\): "
                                        rf"targets\[2, 0\] = {shown}"):
        ArrayDataset(np.zeros((5, 2), np.float32), y)
    with pytest.raises(DataError, match=rf"{label} in inputs .*inputs\[1\] = {shown}"):
        ArrayDataset(chainrule.tensor([0.0, value]))
    with pytest.raises(DataError, match=rf"{label} in inputs .*inputs\[0\] = {shown}"):
        ArrayDataset([value, 1.0])


def test_a_huge_finite_value_is_named_as_an_overflow_not_as_non_finite():
    with pytest.raises(DataError, match=r"inputs: value 1e300 at index \(1, 0\) overflows "
                                        r"float32 \(largest finite float32: 3.4028e38\)") as info:
        ArrayDataset([[0.0], [1e300]], [0, 1])
    assert "NaN" not in str(info.value) and "infinite" not in str(info.value)
    with pytest.raises(DataError, match=r"targets: value -2e39 at index 2 overflows float32"):
        ArrayDataset(np.zeros((3, 1), np.float32), [0.5, 1.0, -2e39])
    big = np.array([[1e300, 0.0]])           # a float64 array keeps its dtype: finite, accepted
    assert ArrayDataset(big).inputs[0, 0] == 1e300
    ds = ArrayDataset([[3e38, -3e38]])       # close to the limit but representable
    assert ds.inputs.dtype == np.float32 and np.isfinite(ds.inputs).all()
    with pytest.raises(DataError, match=r"ToFloat: batch: value -1e300 at index \(0, 1\) "
                                        r"overflows float32"):
        ToFloat()(np.array([[1.0, -1e300]]))
    assert ToFloat()(np.array([[np.inf, 2.0]])).tolist() == [[np.inf, 2.0]]  # inf stays inf


def test_subset():
    ds = TensorDataset(np.arange(10))
    sub = Subset(ds, [7, 2, -1])
    assert len(sub) == 3 and sub.batchable
    assert [int(sub[i][0].item()) for i in range(3)] == [7, 2, 9]
    assert sub.get_batch(np.array([2, 0]))[0].tolist() == [9, 7]
    with pytest.raises(IndexError, match="Subset: indices must lie in"):
        Subset(ds, [10])
    with pytest.raises(TypeError, match="Subset: indices must be integers, got dtype float64"):
        Subset(ds, [1.7, 2.2])                   # NumPy would truncate these to 1, 2
    with pytest.raises(TypeError, match="a boolean mask"):
        Subset(ds, np.arange(10) % 2 == 0)       # NumPy would read the mask as items 1, 0, 1 …
    assert len(Subset(ds, [])) == 0


def test_concat_dataset_items_and_batches():
    a = ArrayDataset(np.arange(3)[:, None] * 1.0, np.arange(3))
    b = ArrayDataset(np.arange(3, 8)[:, None] * 1.0, np.arange(3, 8))
    c = a + b
    assert isinstance(c, ConcatDataset) and len(c) == 8 and c.batchable
    assert [int(c[i][1]) for i in range(8)] == list(range(8))
    assert int(c[-1][1]) == 7
    idx = np.array([7, 0, 3, 2, 5, 5])
    xb, yb = c.get_batch(idx)
    assert yb.tolist() == idx.tolist() and xb[:, 0].tolist() == idx.tolist()
    with pytest.raises(IndexError, match="index 8 out of range for 8 items"):
        c[8]
    # a batch with negative indices counts from the end of the concatenation, as c[-1] does
    assert c.get_batch(np.array([-1, -8, 0]))[1].tolist() == [7, 0, 0]
    with pytest.raises(IndexError, match=r"ConcatDataset: indices must lie in \[-8, 8\)"):
        c.get_batch(np.array([3, 8]))

    class Plain(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return 0

    assert not ConcatDataset([a, Plain()]).batchable


def test_random_split_lengths_disjoint_and_seeded():
    ds = TensorDataset(np.arange(100))
    parts = random_split(ds, [70, 20, 10], generator=42)
    assert [len(p) for p in parts] == [70, 20, 10]
    allidx = np.concatenate([p.indices for p in parts])
    assert sorted(allidx.tolist()) == list(range(100))
    again = random_split(ds, [70, 20, 10], generator=42)
    for p, q in zip(parts, again):
        np.testing.assert_array_equal(p.indices, q.indices)
    other = random_split(ds, [70, 20, 10], generator=43)
    assert not np.array_equal(parts[0].indices, other[0].indices)
    chainrule.manual_seed(3)
    s1 = random_split(ds, [50, 50])
    chainrule.manual_seed(3)
    s2 = random_split(ds, [50, 50])
    np.testing.assert_array_equal(s1[0].indices, s2[0].indices)


def test_random_split_fractions_like_pytorch():
    # PyTorch: floor each fraction, then hand the remainder out round-robin from the first
    ds = TensorDataset(np.arange(11))
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2], generator=0)] == [6, 3, 2]
    with pytest.raises(ValueError, match=r"sum to 9, but the dataset has 11"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        random_split(ds, [0.5, 0.2])
