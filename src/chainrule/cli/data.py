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
from ..data.download import cache_dir
from ..data.errors import DownloadError, missing_data_message
from .args import DATASETS
from .errors import CLIError

__all__ = ["Data", "load_data", "search_dirs", "check_dataset", "SPLIT_SEED"]

SPLIT_SEED = 0
_PROJECT = Path(__file__).resolve().parents[3]  # src/chainrule/cli/data.py → the project
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
    dirs.append(_PROJECT.parent / "shared" / "datasets")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _mnist_file(name: str) -> str:
    """The images file that tells a folder holds ``name``: the test images for the t10k
    protocol, the training images for the full sets."""
    return "t10k-images-idx3-ubyte" if name.endswith("t10k") else "train-images-idx3-ubyte"


def _has_mnist(folder: Path, name: str) -> bool:
    return any((d / f"{_mnist_file(name)}{ext}").is_file() for d in (folder, folder / _kind(name))
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
                raise CLIError(missing_data_message(f"--data-dir: no {MNIST1D_FILE} found",
                                                    [path, path / "mnist1d"]))
            return found
        if name in _MNISTS and not _has_mnist(path, name):
            raise CLIError(missing_data_message(
                f"--data-dir: {name} needs {_mnist_file(name)}.gz (or uncompressed), "
                "not found", [path, path / _kind(name)]))
        return path
    for folder in search_dirs():
        if name == "mnist1d":
            found = _mnist1d_file(folder) if folder.is_dir() else None
            if found is not None:
                return found
        elif name in _MNISTS:
            if folder.is_dir() and _has_mnist(folder, name):
                return folder
    return None


_MNISTS = ("mnist_t10k", "mnist", "fashion_mnist", "fashion_mnist_t10k")


def _kind(name: str) -> str:
    return "fashion_mnist" if name.startswith("fashion") else "mnist"


def _looked_in(name: str) -> list[Path]:
    """Every folder searched for ``name`` without ``--data-dir``, the cache last."""
    sub = "mnist1d" if name == "mnist1d" else _kind(name)
    places = [p for d in search_dirs() for p in (d, d / sub)]
    return places + [cache_dir(sub)]


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
        try:
            splits = _read_files(name, where, val, verbose)
        except (DownloadError, ImportError) as exc:
            if where is not None:
                raise
            raise CLIError(_missing(name, exc)) from None
        source = str(where) if where is not None else _own_source(splits.test)
    return splits, source


def _own_source(dataset) -> str:
    """Where a dataset found without a folder came from, as it says itself: MNIST-1D generated
    on the spot by the ``mnist1d`` package, or the path of the cached file."""
    own = getattr(dataset, "source", None)
    if own == "mnist1d.make_dataset":
        return "generated by the mnist1d package (mnist1d.make_dataset, default arguments)"
    return own if isinstance(own, str) and own else "chainrule's cache"


def _read_files(name: str, where: Path | None, val: float | int, verbose: bool):
    if name == "mnist1d":
        return datasets.mnist1d(where, validation=val, seed=SPLIT_SEED)
    if name in ("mnist_t10k", "fashion_mnist_t10k"):
        return datasets.mnist_t10k(where, kind=_kind(name), validation=val, seed=SPLIT_SEED,
                                   verbose=verbose)
    loader = datasets.mnist if name == "mnist" else datasets.fashion_mnist
    return loader(where, validation=val, seed=SPLIT_SEED, verbose=verbose)


def _missing(name: str, exc: Exception) -> str:
    """The one-line report for data found nowhere and not obtainable (offline, or no mnist1d
    package to generate MNIST-1D): every folder searched and how to point at local files."""
    if name == "mnist1d":
        return missing_data_message(f"mnist1d: no {MNIST1D_FILE} found", _looked_in(name),
                                    "the mnist1d package that would generate it is not "
                                    "installed (pip install 'chainrule[data]')")
    first = str(exc).split("\n")[1].strip() if "\n" in str(exc) else str(exc)
    cache = cache_dir(_kind(name))
    return missing_data_message(f"{name}: no {_mnist_file(name)}.gz (or uncompressed) found",
                                _looked_in(name), f"downloading into {cache} failed ({first})")
