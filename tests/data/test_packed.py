"""The packed format: pack_folder / write_packed, PackedDataset, atomic and resumable packing."""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from chainrule.data import (DataError, DataLoader, PackedDataset, TensorDataset,  # noqa: E402
                            pack_folder, write_packed)
from chainrule.data import pack_images as pack_mod  # noqa: E402
from chainrule.data.packed_write import PackWriter, partial_path  # noqa: E402

CLASSES = ["ant", "bee", "cow", "dog"]
H, W = 12, 10


def make_folder(root: Path, per_class: int = 60, seed: int = 0) -> Path:
    """Small images of four classes: JPEG and PNG, RGB, grayscale and RGBA, one nested."""
    rng = np.random.default_rng(seed)
    for ci, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            kind = i % 4
            if kind == 0:
                img = Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
                img.save(folder / f"{i:03d}.jpg", quality=90)
            elif kind == 1:
                img = Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
                img.save(folder / f"{i:03d}.PNG")
            elif kind == 2:
                img = Image.fromarray(rng.integers(0, 256, (H, W), dtype=np.uint8), "L")
                img.save(folder / f"{i:03d}.png")
            else:
                img = Image.fromarray(rng.integers(0, 256, (H, W, 4), dtype=np.uint8), "RGBA")
                sub = folder / "nested"
                sub.mkdir(exist_ok=True)
                img.save(sub / f"{i:03d}.png")
        (folder / "notes.txt").write_text("not an image, ignored")
    return root


def pillow_reference(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every image decoded directly by Pillow (RGB, CHW) with its class index, in the
    folder order: sorted classes, then sorted paths below each."""
    images, labels = [], []
    for ci, name in enumerate(sorted(CLASSES)):
        paths = []
        for folder, dirs, files in os.walk(root / name):
            dirs.sort()
            paths += [Path(folder) / f for f in sorted(files) if not f.endswith(".txt")]
        for p in paths:
            with Image.open(p) as img:
                images.append(np.asarray(img.convert("RGB")).transpose(2, 0, 1))
            labels.append(ci)
    return np.stack(images), np.array(labels)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("imgs") / "train")


@pytest.fixture(scope="module")
def packed(folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packed") / "train.packed"
    pack_folder(folder, out, jobs=1, chunk_size=32)
    return out


def test_packed_yields_the_pillow_decoded_images_and_labels(folder, packed):
    x, y = pillow_reference(folder)
    ds = PackedDataset(packed)
    assert len(ds) == len(x) == 4 * 60
    assert ds.classes == CLASSES and ds.class_to_idx == {c: i for i, c in enumerate(CLASSES)}
    assert ds.shape == (3, H, W)
    for i in (0, 1, 2, 3, 77, len(ds) - 1):
        image, label = ds[i]
        assert image.dtype == np.uint8 and image.shape == (3, H, W)
        np.testing.assert_array_equal(image, x[i])
        assert label == y[i] and isinstance(label, int)
    images, labels = ds.read(np.arange(len(ds)))
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, y)
    assert ds.targets == y.tolist()
    ds.verify()
    header = json.loads((packed / "header.json").read_text())
    assert header["count"] == len(x) and header["source"] == str(folder.resolve())


def test_worker_processes_give_the_same_bytes(folder, packed, tmp_path):
    out = tmp_path / "two_jobs"
    result = pack_folder(folder, out, jobs=2, chunk_size=16)
    assert result["count"] == 240 and result["resumed"] == 0
    for name in ("images.u8", "labels.i64", "header.json"):
        assert (out / name).read_bytes() == (packed / name).read_bytes()


def test_batches_read_in_any_order_match_the_arrays(folder, packed):
    x, y = pillow_reference(folder)
    ds = PackedDataset(packed)
    rng = np.random.default_rng(1)
    for idx in (rng.permutation(len(ds))[:50], np.array([5, 6, 7, 3, 3, 100, 101, -1]),
                np.arange(10, 60), np.array([], dtype=np.int64)):
        got_x, got_y = ds.get_batch(idx)
        np.testing.assert_array_equal(got_x, x[idx])
        np.testing.assert_array_equal(got_y, y[idx])
    with pytest.raises(IndexError, match="240"):
        ds.get_batch([0, 240])
    with pytest.raises(TypeError, match="int"):
        ds[1.5]
    np.testing.assert_array_equal(ds[-1][0], x[-1])
    assert ds[-240][1] == y[0]
    for bad in (240, -241):
        with pytest.raises(IndexError, match=f"index {bad} out of range for 240"):
            ds[bad]


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_gives_the_batches_of_an_in_memory_dataset(folder, packed, shuffle):
    x, y = pillow_reference(folder)
    scale = lambda b: b.astype(np.float32) / 255  # noqa: E731
    memory = DataLoader(TensorDataset(scale(x), y), batch_size=48, shuffle=shuffle,
                        generator=3)
    fast = DataLoader(PackedDataset(packed, batch_transform=scale), batch_size=48,
                      shuffle=shuffle, generator=3)
    per_item = DataLoader(PackedDataset(packed, transform=scale), batch_size=48,
                          shuffle=shuffle, generator=3)
    assert PackedDataset(packed).batchable and not PackedDataset(packed, transform=scale).batchable
    n = 0
    for (mx, my), (fx, fy), (px, py) in zip(memory, fast, per_item, strict=True):
        assert fx.dtype == mx.dtype == px.dtype
        np.testing.assert_array_equal(fx.numpy(), mx.numpy())
        np.testing.assert_array_equal(px.numpy(), mx.numpy())
        np.testing.assert_array_equal(fy.numpy(), my.numpy())
        np.testing.assert_array_equal(py.numpy(), my.numpy())
        n += 1
    assert n == 5


def test_a_pickled_dataset_reopens_its_files(packed):
    ds = PackedDataset(packed)
    copy = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(copy.get_batch([3, 1])[0], ds.get_batch([3, 1])[0])


def test_a_crash_mid_pack_leaves_no_output_and_a_rerun_resumes(folder, packed, tmp_path,
                                                                monkeypatch):
    out = tmp_path / "crash"
    real_append = PackWriter.append
    calls = []

    def failing_append(self, images, labels):
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        calls.append(len(images))
        real_append(self, images, labels)

    monkeypatch.setattr(PackWriter, "append", failing_append)
    with pytest.raises(RuntimeError, match="simulated crash"):
        pack_folder(folder, out, jobs=1, chunk_size=32)
    assert not out.exists()
    assert (partial_path(out) / "progress.json").exists()
    monkeypatch.setattr(PackWriter, "append", real_append)

    decoded = []
    real_decode = pack_mod._decode_chunk
    monkeypatch.setattr(pack_mod, "_decode_chunk",
                        lambda paths, *a: decoded.append(len(paths)) or real_decode(paths, *a))
    result = pack_folder(folder, out, jobs=1, chunk_size=32)
    assert result["resumed"] == 96
    assert sum(decoded) == 240 - 96  # only the images not yet packed were decoded again
    assert not partial_path(out).exists()
    for name in ("images.u8", "labels.i64"):
        assert (out / name).read_bytes() == (packed / name).read_bytes()
    PackedDataset(out).verify()


def test_resume_verifies_what_was_written(folder, packed, tmp_path, monkeypatch):
    out = tmp_path / "damaged"
    real_checkpoint = PackWriter.checkpoint
    count = []

    def crash_after_four(self):
        real_checkpoint(self)
        count.append(1)
        if len(count) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(PackWriter, "checkpoint", crash_after_four)
    with pytest.raises(KeyboardInterrupt):
        pack_folder(folder, out, jobs=1, chunk_size=32)
    monkeypatch.setattr(PackWriter, "checkpoint", real_checkpoint)
    images = partial_path(out) / "images.u8"
    with open(images, "r+b") as f:  # damage a byte in the third chunk, add stray bytes
        item = 3 * H * W
        f.seek(70 * item + 5)
        byte = f.read(1)
        f.seek(70 * item + 5)
        f.write(bytes([byte[0] ^ 0xFF]))
        f.seek(0, 2)
        f.write(b"junk")
    result = pack_folder(folder, out, jobs=1, chunk_size=32)
    assert result["resumed"] == 64  # the two chunks before the damaged one
    assert (out / "images.u8").read_bytes() == (packed / "images.u8").read_bytes()


def test_different_arguments_start_afresh(folder, tmp_path, monkeypatch):
    out = tmp_path / "other"
    monkeypatch.setattr(PackWriter, "finish", lambda self: (_ for _ in ()).throw(
        RuntimeError("stop before the rename")))
    with pytest.raises(RuntimeError):
        pack_folder(folder, out, jobs=1, chunk_size=64)
    monkeypatch.undo()
    result = pack_folder(folder, out, jobs=1, chunk_size=64, size=(8, 6))
    assert result["resumed"] == 0 and result["shape"] == (3, 8, 6)
    ds = PackedDataset(out)
    first = sorted((folder / "ant").glob("*.jpg"))[0]
    with Image.open(first) as img:
        expect = np.asarray(img.convert("RGB").resize((6, 8), Image.BILINEAR)).transpose(2, 0, 1)
    np.testing.assert_array_equal(ds[0][0], expect)


def test_a_corrupt_image_is_an_error_naming_it(tmp_path):
    root = make_folder(tmp_path / "imgs", per_class=8)
    bad = root / "bee" / "005.PNG"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        with pytest.raises(DataError, match="005.PNG") as info:
            pack_folder(root, out, jobs=jobs, chunk_size=4)
        assert "cannot decode" in str(info.value)
        assert not out.exists()


def test_images_of_another_size_need_size(tmp_path):
    root = make_folder(tmp_path / "imgs", per_class=4)
    odd = root / "cow" / "001.PNG"
    Image.fromarray(np.zeros((7, 9, 3), dtype=np.uint8)).save(odd, format="PNG")
    with pytest.raises(DataError, match="001.PNG.*--size"):
        pack_folder(root, tmp_path / "out", jobs=1)
    result = pack_folder(root, tmp_path / "out", jobs=1, size=(H, W))
    assert result["count"] == 16


def test_bad_folders_are_named(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        pack_folder(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="no class folders found"):
        pack_folder(tmp_path / "flat", tmp_path / "out")
    (tmp_path / "flat" / "empty").mkdir()
    with pytest.raises(DataError, match="class .empty. has no image files"):
        pack_folder(tmp_path / "flat", tmp_path / "out")


def test_an_existing_output_is_never_overwritten(folder, packed):
    before = (packed / "images.u8").read_bytes()
    with pytest.raises(DataError, match="already exists"):
        pack_folder(folder, packed, jobs=1)
    assert (packed / "images.u8").read_bytes() == before


def copy_of(packed: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(packed, out)
    return out


@pytest.mark.parametrize("damage, file, words", [
    (lambda d: (d / "header.json").unlink(), "header.json", "missing"),
    (lambda d: (d / "header.json").write_text("{not json"), "header.json", "not valid JSON"),
    (lambda d: (d / "header.json").write_text('{"format": "npy"}'), "header.json", "format"),
    (lambda d: _edit_header(d, count=7), "header.json", "inconsistent"),
    (lambda d: _edit_header(d, version=99), "header.json", "version 99"),
    (lambda d: _edit_header(d, classes=None), "header.json", "classes"),
    (lambda d: (d / "labels.i64").unlink(), "labels.i64", "missing"),
    (lambda d: os.truncate(d / "images.u8", 1000), "images.u8", "truncated"),
    (lambda d: open(d / "images.u8", "ab").write(b"x"), "images.u8", "1 bytes beyond"),
])
def test_header_and_file_damage_is_an_error_naming_the_file(packed, tmp_path, damage, file,
                                                            words):
    out = copy_of(packed, tmp_path)
    damage(out)
    with pytest.raises(DataError, match=words) as info:
        PackedDataset(out)
    assert info.value.source == str(out / file)


def _edit_header(folder: Path, **changes) -> None:
    header = json.loads((folder / "header.json").read_text())
    header.update(changes)
    (folder / "header.json").write_text(json.dumps(header))


def test_verify_names_a_changed_file(packed, tmp_path):
    out = copy_of(packed, tmp_path)
    with open(out / "images.u8", "r+b") as f:
        f.seek(1234)
        f.write(b"\x00\x01")
    ds = PackedDataset(out)  # opening checks sizes only
    with pytest.raises(DataError, match="checksum mismatch") as info:
        ds.verify()
    assert info.value.source == str(out / "images.u8")


def test_a_damaged_label_is_an_error_naming_the_labels_file(packed, tmp_path):
    out = copy_of(packed, tmp_path)
    with open(out / "labels.i64", "r+b") as f:
        f.seek(8 * 10)
        f.write(np.int64(9).tobytes())
    with pytest.raises(DataError, match="item 10 is outside") as info:
        PackedDataset(out).get_batch(np.arange(20))
    assert info.value.source == str(out / "labels.i64")
    with pytest.raises(DataError, match="item 10 is outside"):
        PackedDataset(out)[10]


def test_write_packed_from_images_and_batches(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (25, 1, 4, 5), dtype=np.uint8)
    y = rng.integers(0, 3, 25)
    chunks = [x[0], x[1:10], x[10:11], x[11:]]
    out = write_packed(tmp_path / "arr", iter(chunks), y, ["a", "b", "c"], source="test")
    ds = PackedDataset(out)
    got_x, got_y = ds.read(np.arange(25))
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert ds.header["source"] == "test"
    ds.verify()


@pytest.mark.parametrize("images, labels, words", [
    ([np.zeros((2, 3, 4, 4), np.uint8)], [0, 1, 1], "2 images but 3 labels"),
    ([np.zeros((2, 3, 4, 4), np.uint8)], [0], "more images than the 1 labels"),
    ([np.zeros((2, 3, 4, 4), np.float32)], [0, 1], "uint8"),
    ([np.zeros((2, 3, 4, 4), np.uint8), np.zeros((1, 3, 4, 5), np.uint8)], [0, 1, 1], "shape"),
    ([np.zeros((2, 3, 4, 4), np.uint8)], [0, 5], "label 5"),
    ([], [], "no images"),
])
def test_write_packed_refuses_bad_arrays_and_leaves_nothing(tmp_path, images, labels, words):
    out = tmp_path / "bad"
    with pytest.raises(ValueError, match=words):
        write_packed(out, images, np.array(labels, dtype=np.int64), ["a", "b"])
    assert not out.exists() and not partial_path(out).exists()


def test_importing_chainrule_data_does_not_import_pillow():
    import subprocess
    import sys
    code = "import sys, chainrule.data; print('PIL' in sys.modules)"
    src = str(Path(__import__("chainrule").__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=src), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
