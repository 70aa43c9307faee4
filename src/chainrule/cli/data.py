"""The datasets the command line knows, found by name, and where their files are looked for.

Without ``--data-dir`` the folders searched are ``$CHAINRULE_DATA``, then ``../shared/datasets``
beside the working directory and beside the project, then chainrule's cache (MNIST files are
downloaded there when a network is at hand; MNIST-1D is generated with the ``mnist1d`` package
when no ``.npz`` is found). Train/validation/test splits are fixed (seed 0) whatever ``--seed``
is, so runs with different seeds share their test set and ``evaluate`` finds the same split.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..data import ArrayDataset, datasets
from ..data.datasets._mnist1d import DEFAULT_FILE as MNIST1D_FILE
from .args import DATASETS
from .errors import CLIError

__all__ = ["Data", "load_data", "search_dirs", "check_dataset", "SPLIT_SEED"]

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


_READS_NO_FILES = ("digits", *_SYNTHETIC)


def check_dataset(name: object, data_dir: str | None = None, who: str = "--dataset") -> str:
    """``name`` if it is a dataset the command line knows and ``data_dir`` (if given) exists;
    checked before any folder is looked at or created."""
    if not isinstance(name, str) or name not in DATASETS:
        raise CLIError(f"{who}: unknown dataset {name!r}; the datasets are "
                       f"{', '.join(DATASETS)}")
    if data_dir is not None and not Path(data_dir).expanduser().exists():
        raise CLIError(f"--data-dir: no such file or folder {str(data_dir)!r}")
    return name


def _check_split(data: Data, val_split: float | int) -> Data:
    """A ``--val-split`` that leaves no training item is named here, not by what it breaks."""
    if len(data.train) == 0:
        total = len(data.train) + (len(data.val) if data.val is not None else 0)
        raise CLIError(f"--val-split {val_split}: holds out all {total} training items of "
                       f"{data.name}, leaving none to train on (give a fraction below 1 or "
                       f"fewer than {total} items)")
    return data


def load_data(name: str, data_dir: str | None = None, val_split: float | int = 0,
              verbose: bool = True, who: str = "--dataset", warn: bool | None = None) -> Data:
    """Load dataset ``name`` with ``val_split`` of its training set held out for validation.

    ``who`` names where ``name`` came from in the error for an unknown one; ``warn`` (default:
    ``verbose``) says on stderr that a ``data_dir`` the dataset does not read is not used."""
    check_dataset(name, data_dir, who)
    if data_dir is not None and name in _READS_NO_FILES and (verbose if warn is None else warn):
        print(f"chainrule: warning: --data-dir {data_dir} is not used: {name} is "
              f"{'bundled with scikit-learn' if name == 'digits' else 'generated'}, not read "
              "from files", file=sys.stderr)
    try:
        splits, source = _read(name, data_dir, val_split, verbose)
    except ValueError as exc:
        if "validation" not in str(exc):
            raise
        raise CLIError(f"--val-split {val_split}: {exc}") from None
    return _check_split(Data(name, splits.train, splits.validation, splits.test, source),
                        val_split)


def _read(name: str, data_dir: str | None, val: float | int, verbose: bool):
    """The dataset's splits and a description of where they came from."""
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
    return splits, source
