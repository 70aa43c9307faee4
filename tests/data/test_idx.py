"""The IDX parser: the real MNIST test files, small files written here, and every bad file."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from chainrule.data import DataError, read_idx, read_idx_header, write_idx
from chainrule.data.datasets import load_idx_pair
from chainrule.data.download import md5sum
from chainrule.data.idx import IMAGES_MAGIC, LABELS_MAGIC

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist_test_files(datasets):
    folder = datasets / "mnist"
    img_path, lbl_path = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    assert md5sum(img_path) == "9fb629c4189551a2d022fa330f9573f3"
    assert md5sum(lbl_path) == "ec29112dd5afa0611ce80d1b7f02629c"
    images = read_idx(img_path, IMAGES_MAGIC)
    labels = read_idx(lbl_path, LABELS_MAGIC)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert images.max() == 255 and images.min() == 0
    assert images.flags.writeable
    header = read_idx_header(img_path)
    assert header.magic == IMAGES_MAGIC and header.shape == (10000, 28, 28) and header.offset == 16
    x, y = load_idx_pair(img_path, lbl_path)
    assert y.dtype == np.int64 and np.array_equal(x, images)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((5, 3, 4)) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


def test_hand_written_bytes(tmp_path):
    # magic 0x00000801 (uint8, 1-d), 3 items; and a big-endian int32 2-d file
    p = tmp_path / "lbl"
    p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
    np.testing.assert_array_equal(read_idx(p, LABELS_MAGIC), [7, 0, 9])
    q = tmp_path / "ints"
    q.write_bytes(bytes([0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + (258).to_bytes(4, "big")
                  + (-1).to_bytes(4, "big", signed=True))
    np.testing.assert_array_equal(read_idx(q), [[258, -1]])


def _write(path, payload: bytes, gz: bool):
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    p = _write(tmp_path / "bad", bytes([1, 2, 3, 4]) + bytes(20), gz)
    with pytest.raises(DataError, match=r"wrong magic number 0x01020304") as e:
        read_idx(p)
    assert str(p) in str(e.value) and e.value.source == str(p)
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"wrong magic number 0x00000801, expected 0x00000803"):
        read_idx(labels, IMAGES_MAGIC)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    good = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    payload = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3]) + good.tobytes()
    p = _write(tmp_path / "cut", payload[:-5], gz)
    with pytest.raises(DataError, match=r"truncated IDX file.*2 × 3 × 3.*18 data bytes, found 13"):
        read_idx(p)
    h = _write(tmp_path / "cut_header", payload[:9], gz)
    with pytest.raises(DataError, match="truncated IDX header"):
        read_idx(h)
    e = _write(tmp_path / "empty", b"\x00\x00", gz)
    with pytest.raises(DataError, match="truncated IDX file"):
        read_idx(e)
    extra = _write(tmp_path / "extra", payload + b"\x00", gz)
    with pytest.raises(DataError, match="1 bytes beyond"):
        read_idx(extra)


def test_truncated_and_corrupt_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "a.gz", np.arange(4000, dtype=np.int32))
    blob = path.read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"cut\.gz: truncated gzip stream"):
        read_idx(cut)
    bad = tmp_path / "bad.gz"
    corrupted = bytearray(blob)
    corrupted[len(blob) // 2] ^= 0xFF
    corrupted[len(blob) // 2 + 1] ^= 0xFF
    bad.write_bytes(bytes(corrupted))
    with pytest.raises(DataError, match=r"bad\.gz: (corrupt|truncated) gzip stream"):
        read_idx(bad)


def test_images_and_labels_of_different_lengths(tmp_path):
    img = write_idx(tmp_path / "img", np.zeros((5, 2, 2), np.uint8))
    lbl = write_idx(tmp_path / "lbl", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"different lengths: 5 images but 4 labels") as e:
        load_idx_pair(img, lbl)
    assert "img" in str(e.value) and "lbl" in str(e.value)


def test_labels_out_of_range(tmp_path):
    img = write_idx(tmp_path / "img", np.zeros((3, 2, 2), np.uint8))
    lbl = write_idx(tmp_path / "lbl", np.array([1, 12, 3], np.uint8))
    with pytest.raises(DataError, match=r"lbl: labels out of range: label 12 at item 1"):
        load_idx_pair(img, lbl)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="IDX cannot store dtype int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
