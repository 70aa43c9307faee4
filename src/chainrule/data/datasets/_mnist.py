"""MNIST and Fashion-MNIST: 28 × 28 grey images of 10 classes, in IDX files.

Files are read from ``data_dir`` when given (the folder itself or its ``mnist/`` /
``fashion_mnist/`` subfolder; ``.gz`` or uncompressed), else from the cache
(``$CHAINRULE_DATA`` or ``~/.cache/chainrule``), downloading missing files from the official
mirrors, tried in turn, and checking each against its published md5.

Inputs are the raw uint8 images (N × 28 × 28); the default transform ``ToFloat()`` turns each
batch into float32 in [0, 1]. Targets are int64 labels 0..9.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..checks import check_targets
from ..dataset import ArrayDataset
from ..download import cache_dir, download as _download, md5sum
from ..errors import DataError, missing_data_message
from ..idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from ..transforms import ToFloat
from .splits import Splits, holdout

__all__ = ["mnist", "fashion_mnist", "mnist_t10k", "has_train_files", "load_idx_pair",
           "FILES", "MD5", "MIRRORS"]

FILES = {"train_images": "train-images-idx3-ubyte.gz",
         "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz",
         "test_labels": "t10k-labels-idx1-ubyte.gz"}

# Published digests of the .gz files (see ../shared/datasets/README.md).
MD5 = {
    "mnist": {"train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
              "test_images": "9fb629c4189551a2d022fa330f9573f3",
              "test_labels": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion_mnist": {"train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
                      "test_images": "bef4ecab320f06d8554ea6380940ec79",
                      "test_labels": "bb300cfdad3c16e7a12a480ee83cd310"},
}

# Base URLs, tried in order; a file's URL is base + file name.
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"],
    "fashion_mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                      "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"],
}

_DEFAULT = ToFloat()


def _candidates(folder: Path, kind: str, gz_name: str) -> list[Path]:
    raw = gz_name[:-3]
    dotted = raw.replace("-idx", ".idx")  # the originals unpack as e.g. t10k-images.idx3-ubyte
    return [d / n for d in (folder, folder / kind) for n in (gz_name, raw, dotted)]


def _verified(path: Path, md5: str, verify: bool) -> Path:
    if verify and path.suffix == ".gz":
        have = md5sum(path)
        if have != md5:
            raise DataError(path, f"checksum mismatch: md5 {have}, expected the published "
                                  f"{md5} (pass verify=False to read it anyway)")
    return path


def _locate(kind: str, part: str, data_dir, download: bool, mirrors, verify: bool,
            verbose: bool) -> Path:
    name, md5 = FILES[part], MD5[kind][part]
    folder = Path(data_dir) if data_dir is not None else cache_dir(kind)
    for path in _candidates(folder, kind, name):
        if path.is_file():
            if data_dir is None and path.suffix == ".gz" and verify and md5sum(path) != md5:
                break  # a bad cached copy: fetch again (download replaces it only if good)
            return _verified(path, md5, verify)
    if data_dir is not None or not download:
        looked = [folder, folder / kind] if data_dir is not None else [folder]
        raise FileNotFoundError(missing_data_message(
            f"{kind}: no {name} (or uncompressed {name[:-3]}) found", looked,
            "" if data_dir is not None else "pass download=True to fetch it into the cache"))
    bases = MIRRORS[kind] if mirrors is None else list(mirrors)
    urls = [base.rstrip("/") + "/" + name for base in bases]
    return _download(urls, folder / name, md5, verbose=verbose)


def load_idx_pair(images_path, labels_path, num_classes: int = 10) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Read an images file (IDX ``0x00000803``) and a labels file (``0x00000801``) and check
    they agree: the same number of items, labels in ``[0, num_classes)``."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{images_path} and {labels_path}",
                        f"images and labels of different lengths: {len(images)} images but "
                        f"{len(labels)} labels")
    check_targets(labels, labels_path, num_classes)
    return images, labels.astype(np.int64)


def _dataset(kind: str, which: str, data_dir, download, mirrors, verify, verbose,
             transform) -> ArrayDataset:
    paths = [_locate(kind, f"{which}_{p}", data_dir, download, mirrors, verify, verbose)
             for p in ("images", "labels")]
    images, labels = load_idx_pair(*paths)
    return ArrayDataset(images, labels, transform=transform, num_classes=10,
                        source=str(paths[0]), check=False)


def _load(kind: str, data_dir, download, validation, seed, transform, mirrors, verify,
          verbose) -> Splits:
    opts = (data_dir, download, mirrors, verify, verbose, transform)
    train = _dataset(kind, "train", *opts)
    test = _dataset(kind, "test", *opts)
    return holdout(train, test, validation, seed, kind)


def mnist(data_dir=None, *, download: bool = True, validation: float = 0, seed: int = 0,
          transform: Callable | None = _DEFAULT, mirrors: Sequence[str] | None = None,
          verify: bool = True, verbose: bool = True) -> Splits:
    """MNIST handwritten digits: 60,000 training and 10,000 test images.

    ``data_dir``: a folder of IDX files (no download); else the cache, downloading what is
    missing. ``validation``: a count or fraction of the training set held out (stratified,
    with ``seed``). ``transform`` acts on each batch of uint8 images (default: ``ToFloat()``).
    ``verify`` checks ``.gz`` files against the published md5 digests. Raises
    FileNotFoundError when the files are absent and cannot be downloaded.
    """
    return _load("mnist", data_dir, download, validation, seed, transform, mirrors, verify,
                 verbose)


def fashion_mnist(data_dir=None, *, download: bool = True, validation: float = 0,
                  seed: int = 0, transform: Callable | None = _DEFAULT,
                  mirrors: Sequence[str] | None = None, verify: bool = True,
                  verbose: bool = True) -> Splits:
    """Fashion-MNIST (Zalando): 60,000 + 10,000 images of 10 kinds of clothing, in MNIST's
    format; arguments as for :func:`mnist`."""
    return _load("fashion_mnist", data_dir, download, validation, seed, transform, mirrors,
                 verify, verbose)


def mnist_t10k(data_dir=None, *, kind: str = "mnist", n_train: int = 8000,
               download: bool = True, validation: float = 0, seed: int = 0,
               transform: Callable | None = _DEFAULT, mirrors: Sequence[str] | None = None,
               verify: bool = True, verbose: bool = True) -> Splits:
    """The real-digits protocol for when only the 10,000-image test files are at hand: train
    on the first ``n_train`` (8,000) test images, test on the rest (the last 2,000)."""
    if kind not in MD5:
        raise ValueError(f"mnist_t10k: kind must be one of {sorted(MD5)}, got {kind!r}")
    full = _dataset(kind, "test", data_dir, download, mirrors, verify, verbose, transform)
    if not 0 < n_train < len(full):
        raise ValueError(f"mnist_t10k: n_train must lie in (0, {len(full)}), got {n_train}")
    source = full.source
    train = ArrayDataset(full.inputs[:n_train], full.targets[:n_train], transform=transform,
                         num_classes=10, source=f"{source} [:{n_train}]", check=False)
    test = ArrayDataset(full.inputs[n_train:], full.targets[n_train:], transform=transform,
                        num_classes=10, source=f"{source} [{n_train}:]", check=False)
    return holdout(train, test, validation, seed, "mnist_t10k")


def has_train_files(data_dir=None, kind: str = "mnist") -> bool:
    """Whether the 60,000-image training files are present locally (in ``data_dir`` or the
    cache), so that :func:`mnist` works without a download."""
    folder = Path(data_dir) if data_dir is not None else cache_dir(kind)
    return all(any(p.is_file() for p in _candidates(folder, kind, FILES[part]))
               for part in ("train_images", "train_labels"))
