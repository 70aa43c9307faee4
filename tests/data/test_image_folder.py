"""chainrule.data.ImageFolder: torchvision's folder rules (sorted classes, nested files,
extensions in any case), decoding to RGB with Pillow, bad files named or skipped, empty
folders refused. Images are generated with Pillow in tmp_path."""
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from chainrule.data import DataError, DataLoader, ImageFolder
from chainrule.data import vision as V
from chainrule.data.image_folder import IMG_EXTENSIONS, find_classes, make_dataset


def _save(path, array, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return str(path)


def _pixels(value, h=4, w=5):
    return np.full((h, w, 3), value, dtype=np.uint8)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    rng = np.random.default_rng(0)
    _save(root / "dog" / "b.png", rng.integers(0, 256, (4, 5, 3), dtype=np.uint8))
    _save(root / "dog" / "a.JPEG", _pixels(200), format="JPEG")
    _save(root / "cat" / "sub" / "deep" / "z.Png", _pixels(10))
    _save(root / "cat" / "c.jpg", _pixels(50), format="JPEG")
    _save(root / "cat" / "._c.jpg", _pixels(1))                    # macOS metadata file
    _save(root / "cat" / ".cache" / "x.png", _pixels(2))           # hidden folder in a class
    _save(root / ".ipynb_checkpoints" / "y.png", _pixels(3))       # hidden folder: no class
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("a file at the top is not a class")
    return root


def test_classes_samples_and_targets_follow_torchvision_rules(tree):
    """torchvision counts hidden names: .ipynb_checkpoints is a class and ._c.jpg a sample."""
    ds = ImageFolder(tree)
    assert ds.classes == [".ipynb_checkpoints", "cat", "dog"]
    assert ds.class_to_idx == {".ipynb_checkpoints": 0, "cat": 1, "dog": 2}
    rel = [(os.path.relpath(p, tree), t) for p, t in ds.samples]
    assert rel == [(os.path.join(".ipynb_checkpoints", "y.png"), 0),
                   (os.path.join("cat", "._c.jpg"), 1),
                   (os.path.join("cat", "c.jpg"), 1),
                   (os.path.join("cat", ".cache", "x.png"), 1),
                   (os.path.join("cat", "sub", "deep", "z.Png"), 1),
                   (os.path.join("dog", "a.JPEG"), 2), (os.path.join("dog", "b.png"), 2)]
    assert ds.targets == [0, 1, 1, 1, 1, 2, 2] and ds.imgs is ds.samples and len(ds) == 7


def test_skip_hidden_leaves_hidden_folders_and_files_out(tree):
    ds = ImageFolder(tree, skip_hidden=True)
    assert ds.classes == ["cat", "dog"]
    assert ds.class_to_idx == {"cat": 0, "dog": 1}
    rel = [(os.path.relpath(p, tree), t) for p, t in ds.samples]
    assert rel == [(os.path.join("cat", "c.jpg"), 0),
                   (os.path.join("cat", "sub", "deep", "z.Png"), 0),
                   (os.path.join("dog", "a.JPEG"), 1), (os.path.join("dog", "b.png"), 1)]
    assert ds.targets == [0, 0, 1, 1] and ds.imgs is ds.samples and len(ds) == 4


def test_is_valid_file_replaces_extensions(tree):
    _, idx = find_classes(tree, skip_hidden=True)
    only_png = make_dataset(tree, idx, None, is_valid_file=lambda p: p.lower().endswith("png"),
                            skip_hidden=True)
    assert [os.path.basename(p) for p, _ in only_png] == ["z.Png", "b.png"]
    with pytest.raises(ValueError, match="exactly one of extensions and is_valid_file"):
        make_dataset(tree, idx, IMG_EXTENSIONS, is_valid_file=lambda p: True)


def test_items_decode_to_rgb_with_transforms(tree):
    ds = ImageFolder(tree, target_transform=lambda t: t + 10, skip_hidden=True)
    img, target = ds[3]
    assert target == 11 and img.mode == "RGB" and img.size == (5, 4)
    expected = np.asarray(Image.open(ds.samples[3][0]).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(img), expected)
    arr_ds = ImageFolder(tree, transform=V.ToArray(), skip_hidden=True)
    x, y = arr_ds[-1]
    assert x.shape == (3, 4, 5) and x.dtype == np.float32 and y == 1
    np.testing.assert_array_equal(x, expected.transpose(2, 0, 1).astype(np.float32) / 255)
    jpeg, _ = arr_ds[2]   # lossy, but a flat colour stays close
    assert np.abs(jpeg * 255 - 200).max() <= 3


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA", "I;16"])
def test_other_modes_are_converted_to_rgb(tmp_path, mode):
    base = Image.fromarray(np.random.default_rng(1).integers(0, 256, (3, 4, 3), np.uint8))
    src = base.convert(mode) if mode != "I;16" else Image.fromarray(
        np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    path = tmp_path / "r" / "only" / "img.png"
    path.parent.mkdir(parents=True)
    src.save(path)
    img, _ = ImageFolder(tmp_path / "r")[0]
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), np.asarray(Image.open(path).convert("RGB")))
    if mode == "L":
        arr = np.asarray(img)
        assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    if mode == "RGBA":   # alpha is dropped, the colour kept
        np.testing.assert_array_equal(np.asarray(img), np.asarray(src)[..., :3])


def _bad_tree(tmp_path):
    root = tmp_path / "bad"
    _save(root / "a" / "good.png", _pixels(9))
    (root / "a" / "text.jpg").write_text("this is not a JPEG")
    good = _save(root / "b" / "fine.png", _pixels(7))
    full = open(good, "rb").read()
    (root / "b" / "truncated.png").write_bytes(full[: len(full) // 2])
    return root


def test_bad_files_raise_data_error_naming_the_file_when_loaded(tmp_path):
    ds = ImageFolder(_bad_tree(tmp_path))   # construction only lists names
    assert len(ds) == 4
    names = [os.path.basename(p) for p, _ in ds.samples]
    with pytest.raises(DataError, match=r"text\.jpg: ImageFolder: cannot decode") as info:
        ds[names.index("text.jpg")]
    assert info.value.source.endswith("text.jpg")
    with pytest.raises(DataError, match=r"truncated\.png"):
        ds[names.index("truncated.png")]
    assert ds[names.index("good.png")][1] == 0


def test_skip_bad_drops_undecodable_files_with_one_warning(tmp_path):
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\).*text\.jpg.*truncated\.png"):
        ds = ImageFolder(_bad_tree(tmp_path), skip_bad=True)
    assert [os.path.basename(p) for p, _ in ds.samples] == ["good.png", "fine.png"]
    assert ds.targets == [0, 1]
    assert sorted(os.path.basename(p) for p, _ in ds.skipped) == ["text.jpg", "truncated.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = ImageFolder(tmp_path / "bad", skip_bad=True,   # nothing to skip: no warning
                            is_valid_file=lambda p: os.path.basename(p) in ("good.png",
                                                                            "fine.png"))
    assert len(clean) == 2 and clean.skipped == []


def test_skip_bad_refuses_a_class_left_empty(tmp_path):
    root = tmp_path / "r"
    _save(root / "a" / "ok.png", _pixels(1))
    (root / "b").mkdir()
    (root / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"no decodable image left "
                                                                   r"in class folder\(s\) \['b'\]"):
        ImageFolder(root, skip_bad=True)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        ImageFolder(tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    _save(tmp_path / "flat" / "x.png", _pixels(0))
    with pytest.raises(DataError, match="no class folders found"):
        ImageFolder(tmp_path / "flat")
    root = tmp_path / "r"
    _save(root / "full" / "x.png", _pixels(0))
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"empty: ImageFolder: class 'empty' has no image "
                                        r"files.*\.jpg"):
        ImageFolder(root)
    ds = ImageFolder(root, allow_empty=True)
    assert ds.classes == ["empty", "full"] and ds.targets == [1]
    with pytest.raises(IndexError, match="index 5 is out of range for 1 images"):
        ds[5]
    with pytest.raises(TypeError, match="transform must be callable"):
        ImageFolder(root, transform="ToTensor")


def test_loader_batches_an_image_folder(tree):
    ds = ImageFolder(tree, transform=V.Compose([V.Resize((4, 4)), V.ToArray()]),
                     skip_hidden=True)
    batches = list(DataLoader(ds, batch_size=3))
    assert [tuple(x.shape) for x, _ in batches] == [(3, 3, 4, 4), (1, 3, 4, 4)]
    assert batches[0][1].tolist() == [0, 0, 1]


def test_missing_pillow_names_the_images_extra(tree, monkeypatch):
    import subprocess
    import sys
    code = ("import sys, chainrule.data, chainrule.data.vision; "
            "print('PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "False", out.stderr   # Pillow is imported only when needed
    ds = ImageFolder(tree)
    monkeypatch.setitem(sys.modules, "PIL", None)      # as if Pillow were not installed
    with pytest.raises(ImportError, match=r"chainrule\[images\]"):
        ds[0]
    with pytest.raises(ImportError, match=r"Resize needs Pillow.*chainrule\[images\]"):
        V.Resize(4)
