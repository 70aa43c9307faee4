"""The built-in datasets: MNIST from folders (and the 8,000/2,000 real-digits protocol),
digits, MNIST-1D, the synthetic problems, validation splits."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import chainrule
from chainrule.data import DataError, DataLoader, Flatten, Compose, ToFloat, write_idx
from chainrule.data.datasets import (blobs, digits, fashion_mnist, generate_mnist1d,
                                     has_train_files, mnist, mnist1d, mnist_t10k, moons, sine,
                                     spirals, stratified_split, xor)

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_digits_protocol(datasets):
    train, test = mnist_t10k(datasets, download=False)
    assert len(train) == 8000 and len(test) == 2000
    assert train.inputs.shape == (8000, 28, 28) and train.inputs.dtype == np.uint8
    counts = np.bincount(train.targets, minlength=10) + np.bincount(test.targets, minlength=10)
    assert counts.tolist() == TEST_COUNTS
    x, y = next(iter(DataLoader(test, batch_size=2000)))
    assert x.dtype == chainrule.float32 and y.dtype == chainrule.int64
    assert float(x.numpy().max()) == 1.0 and float(x.numpy().min()) == 0.0
    assert not has_train_files(datasets)
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte.gz"):
        mnist(datasets)


def test_real_digits_validation_is_stratified(datasets):
    train, val, test = mnist_t10k(datasets, validation=1000, seed=3,
                                  transform=Compose([ToFloat(), Flatten()]))
    assert (len(train), len(val), len(test)) == (7000, 1000, 2000)
    full = np.bincount(np.concatenate([train.targets, val.targets]), minlength=10)
    assert np.all(np.abs(np.bincount(val.targets, minlength=10) - full / 8) <= 1)
    assert val.get_batch(np.arange(3))[0].shape == (3, 784)


def _fake_folder(folder, gz=True, n_train=30, n_test=12, dotted=False):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8)}
    for name, arr in arrays.items():
        if dotted:
            name = name.replace("-idx", ".idx")
        write_idx(folder / (name + (".gz" if gz else "")), arr)
    return arrays


@pytest.mark.parametrize("layout", ["raw", "dotted", "subfolder"])
def test_mnist_from_a_local_folder(tmp_path, layout):
    folder = tmp_path / "mnist" if layout == "subfolder" else tmp_path
    arrays = _fake_folder(folder, gz=False, dotted=layout == "dotted")
    train, test = mnist(tmp_path, verbose=False)
    np.testing.assert_array_equal(train.inputs, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(test.targets, arrays["t10k-labels-idx1-ubyte"])
    assert train.targets.dtype == np.int64 and train.num_classes == 10
    assert has_train_files(tmp_path)
    train, val, test = mnist(tmp_path, validation=0.2, verbose=False)
    assert (len(train), len(val), len(test)) == (24, 6, 12)


def test_fashion_mnist_from_folder(tmp_path):
    _fake_folder(tmp_path / "fashion_mnist", gz=False)
    train, test = fashion_mnist(tmp_path)
    assert len(train) == 30 and len(test) == 12


def test_local_gz_with_wrong_checksum(tmp_path):
    _fake_folder(tmp_path, gz=True)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: checksum mismatch: md5 "
                                        r"[0-9a-f]{32}, expected the published "
                                        r"f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        mnist(tmp_path)
    train, test = mnist(tmp_path, verify=False)
    assert len(train) == 30


def test_mnist_bad_files_name_the_file(tmp_path):
    _fake_folder(tmp_path, gz=False)
    lbl = tmp_path / "train-labels-idx1-ubyte"
    write_idx(lbl, np.zeros(29, np.uint8))
    with pytest.raises(DataError, match="different lengths: 30 images but 29 labels") as e:
        mnist(tmp_path)
    assert "train-images-idx3-ubyte" in str(e.value) and "train-labels-idx1-ubyte" in str(e.value)
    write_idx(lbl, np.full(30, 10, np.uint8))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: labels out of range: label 10"):
        mnist(tmp_path)
    img = tmp_path / "train-images-idx3-ubyte"
    img.write_bytes(img.read_bytes()[:100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated IDX file"):
        mnist(tmp_path)


def test_shared_gz_files_verify(datasets, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(datasets / "mnist" / name, tmp_path / name)
    assert len(mnist_t10k(tmp_path, n_train=9000).test) == 1000
    # a flipped byte inside the gzip stream fails the published checksum
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(p.read_bytes())
    blob[-10] ^= 1
    p.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist_t10k(tmp_path)


# ---- digits ---------------------------------------------------------------------------------
def test_digits_split_sizes_and_stratification():
    pytest.importorskip("sklearn")
    train, test = digits()
    assert (len(train), len(test)) == (1437, 360)
    assert train.inputs.shape == (1437, 8, 8) and train.inputs.dtype == np.float32
    assert 0.0 == train.inputs.min() and train.inputs.max() == 1.0
    total = np.bincount(train.targets, minlength=10) + np.bincount(test.targets, minlength=10)
    assert total.sum() == 1797
    assert np.all(np.abs(np.bincount(test.targets, minlength=10) - 0.2 * total) < 1)
    again = digits()
    np.testing.assert_array_equal(again.train.inputs, train.inputs)  # fixed seed
    other = digits(seed=1)
    assert not np.array_equal(other.train.targets, train.targets)
    from sklearn.datasets import load_digits
    raw = load_digits()
    # every image is one of sklearn's, scaled by 1/16, and train/test are disjoint
    all_images = np.concatenate([train.inputs, test.inputs]).reshape(1797, 64) * 16
    assert sorted(map(bytes, all_images.astype(np.uint8))) == \
        sorted(map(bytes, raw.data.astype(np.uint8)))


def test_stratified_split_exact_total():
    labels = np.repeat(np.arange(3), [5, 7, 11])
    train, test = stratified_split(labels, 8, np.random.default_rng(0))
    assert len(test) == 8 and len(train) == 15 and not set(train) & set(test)
    assert np.all(np.abs(np.bincount(labels[test], minlength=3) - 8 * np.array([5, 7, 11]) / 23)
                  < 1)


# ---- MNIST-1D -------------------------------------------------------------------------------
def test_mnist1d_from_shared_npz(datasets):
    path = datasets / "mnist1d" / "mnist1d_5000.npz"
    train, test = mnist1d(path)
    assert train.inputs.shape == (4000, 40) and test.inputs.shape == (1000, 40)
    assert train.inputs.dtype == np.float32 and train.targets.dtype == np.int64
    assert set(np.unique(train.targets)) == set(range(10))
    train, val, test = mnist1d(path, validation=500)
    assert (len(train), len(val), len(test)) == (3500, 500, 1000)


def test_mnist1d_generated_small():
    pytest.importorskip("mnist1d")
    state = np.random.get_state()
    train, test = mnist1d(generate=True, num_samples=200)
    assert all(a == b if not isinstance(a, np.ndarray) else np.array_equal(a, b)
               for a, b in zip(state, np.random.get_state()))  # global RNG left as it was
    assert train.inputs.shape == (160, 40) and test.inputs.shape == (40, 40)
    assert train.inputs.dtype == np.float32 and train.targets.dtype == np.int64
    np.testing.assert_array_equal(mnist1d(generate=True, num_samples=200).train.inputs,
                                  train.inputs)  # the package's seed (42) fixes it
    with pytest.raises(TypeError, match="need generate=True"):
        mnist1d(num_samples=200)


@pytest.mark.slow
def test_mnist1d_generated_equals_the_shared_file(datasets):
    pytest.importorskip("mnist1d")
    gen = generate_mnist1d()
    with np.load(datasets / "mnist1d" / "mnist1d_5000.npz", allow_pickle=False) as f:
        for key in ("x", "y", "x_test", "y_test", "t"):
            np.testing.assert_allclose(gen[key], f[key], rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="unknown mnist1d argument 'bogus'"):
        generate_mnist1d(bogus=1)


def test_mnist1d_bad_files(tmp_path):
    good = dict(x=np.zeros((4, 40), np.float32), y=np.arange(4), x_test=np.zeros((2, 40)),
                y_test=np.arange(2))
    np.savez(tmp_path / "ok.npz", **good)
    assert len(mnist1d(tmp_path / "ok.npz").test) == 2
    np.savez(tmp_path / "nokey.npz", x=good["x"], y=good["y"])
    with pytest.raises(DataError, match=r"nokey\.npz: missing key\(s\) \['x_test', 'y_test'\]"):
        mnist1d(tmp_path / "nokey.npz")
    bad = dict(good, x=good["x"].copy())
    bad["x"][1, 3] = np.nan
    np.savez(tmp_path / "nan.npz", **bad)
    with pytest.raises(DataError, match=r"nan\.npz \[x, y\]: NaN in inputs .* first at item 1"):
        mnist1d(tmp_path / "nan.npz")
    huge = dict(good, x_test=np.zeros((2, 40)))
    huge["x_test"][1, 5] = 1e300
    np.savez(tmp_path / "huge.npz", **huge)
    with pytest.raises(DataError, match=r"huge\.npz \[x_test, y_test\]: x_test: value 1e300 at "
                                        r"index \(1, 5\) overflows float32"):
        mnist1d(tmp_path / "huge.npz")
    np.savez(tmp_path / "range.npz", **dict(good, y_test=np.array([0, 10])))
    with pytest.raises(DataError, match=r"\[x_test, y_test\]: labels out of range: label 10"):
        mnist1d(tmp_path / "range.npz")
    np.savez(tmp_path / "len.npz", **dict(good, y=np.arange(3)))
    with pytest.raises(DataError, match="different lengths: 4 inputs but 3 targets"):
        mnist1d(tmp_path / "len.npz")
    np.savez(tmp_path / "obj.npz", **dict(good, x=np.array([None] * 4, dtype=object)))
    with pytest.raises(DataError, match="without unpickling"):
        mnist1d(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz: not an \.npz file"):
        mnist1d(tmp_path / "junk.npz")


# ---- synthetic ------------------------------------------------------------------------------
@pytest.mark.parametrize("make,classes", [(spirals, 3), (moons, 2), (xor, 2), (blobs, 3),
                                          (sine, None)])
def test_synthetic_seeded(make, classes):
    a, b, c = make(seed=5), make(seed=5), make(seed=6)
    np.testing.assert_array_equal(a.train.inputs, b.train.inputs)
    np.testing.assert_array_equal(a.test.targets, b.test.targets)
    assert not np.array_equal(a.train.inputs, c.train.inputs)
    assert (len(a.train), len(a.test)) == (480, 120)
    assert a.train.inputs.dtype == np.float32 and a.train.inputs.shape[1:] in [(2,), (1,)]
    if classes is None:
        assert a.train.targets.dtype == np.float32 and a.train.targets.shape == (480, 1)
    else:
        assert a.train.targets.dtype == np.int64
        assert set(np.unique(np.concatenate([a.train.targets, a.test.targets]))) == \
            set(range(classes))
    chainrule.manual_seed(9)
    d = make()
    chainrule.manual_seed(9)
    np.testing.assert_array_equal(make().train.inputs, d.train.inputs)
    train, val, test = make(n_samples=100, validation=10, seed=1)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert len(make(n_samples=100, validation=0.25, seed=1).validation) == 20
    assert make(n_samples=100, validation=0.0, seed=1).validation is None
    for bad in (True, 1.0, 10.0, 81, -1, "0.2"):  # ambiguous or impossible amounts
        with pytest.raises(ValueError, match=r"validation: expected a count in \[0, 80\]"):
            make(n_samples=100, validation=bad, seed=1)


def test_synthetic_shapes_of_the_problems():
    x, y = xor(seed=0).train.inputs, xor(seed=0).train.targets
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0))  # noise=0: the labels are exact
    s = sine(noise=0.0, seed=0).train
    np.testing.assert_allclose(s.targets, np.sin(s.inputs), atol=1e-6)
    r = np.linalg.norm(spirals(noise=0.0, seed=0).train.inputs, axis=1)
    assert r.max() <= 1.0 + 1e-6
    m = moons(noise=0.0, seed=0).train
    zero = m.inputs[m.targets == 0]
    np.testing.assert_allclose(np.linalg.norm(zero, axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="spirals: n_samples must be an integer >= 3"):
        spirals(n_samples=2)
