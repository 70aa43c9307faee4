"""The datasets the command line knows, found by name, and where their files are looked for.

Without ``--data-dir`` the folders searched are ``$CHAINRULE_DATA``, then ``../shared/datasets``
beside the working directory and beside the project, then chainrule's cache (MNIST files are
downloaded there when a network is at hand; MNIST-1D is generated with the ``mnist1d`` package
when no ``.npz`` is found). Train/validation/test splits are fixed (seed 0) whatever ``--seed``
is, so runs with different seeds share their test set and ``evaluate`` finds the same split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..data import ArrayDataset, datasets
from ..data.datasets._mnist1d import DEFAULT_FILE as MNIST1D_FILE
from .errors import CLIError

__all__ = ["Data", "load_data", "search_dirs", "SPLIT_SEED"]

SPLIT_SEED = 0
_MNIST_FILE = "t10k-images-idx3-ubyte"
_SYNTHETIC = {"spirals": datasets.spirals, "moons": datasets.moons, "xor": datasets.xor,
              "blobs": datasets.blobs}


@dataclass
class Data:
    name: str
    train: ArrayDataset
    val: ArrayDataset | None
    test: ArrayDataset
    source: str

    @property
    def input_shape(self) -> list[int]:
        return [int(n) for n in self.train.inputs.shape[1:]]

    @property
    def num_classes(self) -> int:
        return int(self.train.num_classes or int(self.train.targets.max()) + 1)


def search_dirs() -> list[Path]:
    """The data folders tried when ``--data-dir`` is not given, in order."""
    dirs = []
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        dirs.append(Path(env))
    dirs.append(Path.cwd().parent / "shared" / "datasets")
    project = Path(__file__).resolve().parents[3]  # src/chainrule/cli/data.py → the project
    dirs.append(project.parent / "shared" / "datasets")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _has_mnist(folder: Path, kind: str) -> bool:
    return any((d / f"{_MNIST_FILE}{ext}").is_file() for d in (folder, folder / kind)
               for ext in (".gz", ""))


def _mnist1d_file(folder: Path) -> Path | None:
    if folder.is_file():
        return folder
    for cand in (folder / MNIST1D_FILE, folder / "mnist1d" / MNIST1D_FILE):
        if cand.is_file():
            return cand
    return None


def _locate(name: str, data_dir: str | None) -> Path | None:
    """The file or folder to read ``name`` from, or None for the library's own default."""
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.exists():
            raise CLIError(f"--data-dir: no such file or folder {str(path)!r}")
        if name == "mnist1d":
            found = _mnist1d_file(path)
            if found is None:
                raise CLIError(f"--data-dir: no {MNIST1D_FILE} in {path} or {path / 'mnist1d'}")
            return found
        return path
    for folder in search_dirs():
        if name == "mnist1d":
            found = _mnist1d_file(folder) if folder.is_dir() else None
            if found is not None:
                return found
        elif name in ("mnist_t10k", "mnist", "fashion_mnist", "fashion_mnist_t10k"):
            kind = "fashion_mnist" if name.startswith("fashion") else "mnist"
            if folder.is_dir() and _has_mnist(folder, kind):
                return folder
    return None


def load_data(name: str, data_dir: str | None = None, val_split: float | int = 0,
              verbose: bool = True) -> Data:
    """Load dataset ``name`` with ``val_split`` of its training set held out for validation."""
    val = val_split
    if name == "digits":
        splits = datasets.digits(validation=val, seed=SPLIT_SEED)
        source = "scikit-learn digits"
    elif name in _SYNTHETIC:
        splits = _SYNTHETIC[name](validation=val, seed=SPLIT_SEED)
        source = f"synthetic {name}"
    else:
        where = _locate(name, data_dir)
        if name == "mnist1d":
            splits = datasets.mnist1d(where, validation=val, seed=SPLIT_SEED)
        elif name in ("mnist_t10k", "fashion_mnist_t10k"):
            kind = "fashion_mnist" if name.startswith("fashion") else "mnist"
            splits = datasets.mnist_t10k(where, kind=kind, validation=val, seed=SPLIT_SEED,
                                         verbose=verbose)
        else:
            loader = datasets.mnist if name == "mnist" else datasets.fashion_mnist
            splits = loader(where, validation=val, seed=SPLIT_SEED, verbose=verbose)
        source = str(where) if where is not None else "chainrule's cache"
    return Data(name, splits.train, splits.validation, splits.test, source)
