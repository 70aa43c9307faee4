"""The whole image pipeline of #16 on one synthetic folder of a few thousand files: ImageFolder
with random per-sample augmentation gives identical batches with 0, 1 and 2 workers, and the
packed copy of the folder yields exactly the arrays the folder decodes to."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import DataLoader, ImageFolder, PackedDataset, pack_folder
from chainrule.data import vision as V

Image = pytest.importorskip("PIL.Image")

CLASSES = ("ant", "bee", "cat", "dog")
PER_CLASS = 500            # 2,000 files: half PNG, half JPEG


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images") / "train"
    rng = np.random.default_rng(16)
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            pixels[..., c % 3] //= 2                     # a class-dependent tint
            if i % 2:
                Image.fromarray(pixels).save(root / name / f"{i:04d}.png")
            else:
                Image.fromarray(pixels).save(root / name / f"{i:04d}.jpg", quality=90)
    return root


def _augmented(root) -> ImageFolder:
    return ImageFolder(root, transform=V.Compose([
        V.RandomCrop(6, padding=1), V.RandomHorizontalFlip(), V.ToArray(),
        V.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))]))


def _epochs(loader, n: int = 2) -> list:
    return [[(x._data.copy(), y._data.copy()) for x, y in loader] for _ in range(n)]


def test_any_number_of_workers_gives_the_same_augmented_batches(folder):
    runs = {}
    for workers in (0, 1, 2):
        loader = DataLoader(_augmented(folder), batch_size=128, shuffle=True, generator=7,
                            num_workers=workers)
        runs[workers] = _epochs(loader)
    reference = runs[0]
    assert len(reference[0]) == -(-len(CLASSES) * PER_CLASS // 128)
    # the two epochs differ (a new permutation and new augmentation) ...
    assert not np.array_equal(reference[0][0][0], reference[1][0][0])
    for workers in (1, 2):
        for epoch_a, epoch_b in zip(reference, runs[workers]):
            for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b, strict=True):
                np.testing.assert_array_equal(xa, xb)   # ... but not with the worker count
                np.testing.assert_array_equal(ya, yb)


def test_the_packed_folder_yields_the_decoded_arrays(folder, tmp_path):
    out = tmp_path / "train.packed"
    pack_folder(folder, out, jobs=2)
    packed = PackedDataset(out)
    plain = ImageFolder(folder, transform=lambda img: np.asarray(img).transpose(2, 0, 1))
    assert len(packed) == len(plain) == len(CLASSES) * PER_CLASS
    assert packed.classes == plain.classes
    order = np.random.default_rng(0).permutation(len(plain))[:300]
    for i in order:
        (a, la), (b, lb) = packed[int(i)], plain[int(i)]
        np.testing.assert_array_equal(a, b)
        assert int(la) == lb
    # and batch by batch through the loader, packed against the folder decoded in full
    images = np.stack([plain[i][0] for i in range(len(plain))])
    labels = np.asarray(plain.targets)
    start = 0
    for x, y in DataLoader(packed, batch_size=256):
        np.testing.assert_array_equal(x._data, images[start:start + len(x)])
        np.testing.assert_array_equal(y._data, labels[start:start + len(x)])
        start += len(x)
    assert start == len(plain)
