"""The packed image format, and :class:`PackedDataset`, which streams it.

A packed dataset is a folder of three files::

    OUT/header.json   {"format": "chainrule-packed", "version": 1, "count": N,
                       "shape": [C, H, W], "dtype": "uint8", "labels_dtype": "int64",
                       "classes": [...], "source": "...",
                       "files": {"images": {"name": "images.u8", "bytes": ..., "sha256": ...},
                                 "labels": {"name": "labels.i64", "bytes": ..., "sha256": ...}}}
    OUT/images.u8     N x C x H x W uint8, raw bytes in C order (no header)
    OUT/labels.i64    N int64 labels, little-endian

It is written by :func:`chainrule.data.write_packed` (from arrays) or
:func:`chainrule.data.pack_folder` / ``chainrule data pack DIR OUT`` (from an image folder).

Opening checks the header and that each file has exactly the bytes the header declares (a
missing, truncated or overlong file is a :class:`DataError` naming it). The SHA-256 checksums
are checked only by :meth:`PackedDataset.verify`: hashing an ILSVRC-sized file (3.9 GB) takes
seconds to tens of seconds, too long for every open.

Reading uses positioned reads (``os.preadv``, as :class:`~chainrule.data.MemmapDataset` does),
never a memory map: each run of consecutive indices is one read straight into the batch array
(one read for an unshuffled batch, about one per item for a shuffled one), so resident memory
stays about one batch and an epoch reads the file once (``/proc/self/io`` rchar counts it; a
map's page faults would not be counted and its touched pages would count as resident memory).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .dataset import Dataset
from .errors import DataError
from .streaming import _pread_into

__all__ = ["PackedDataset", "read_header", "FORMAT_NAME", "FORMAT_VERSION", "HEADER_NAME",
           "IMAGES_NAME", "LABELS_NAME", "sha256_file"]

FORMAT_NAME = "chainrule-packed"
FORMAT_VERSION = 1
HEADER_NAME = "header.json"
IMAGES_NAME = "images.u8"
LABELS_NAME = "labels.i64"
LABELS_DTYPE = np.dtype("<i8")
_HASH_BLOCK = 16 << 20


def sha256_file(path: str | os.PathLike, nbytes: int | None = None) -> str:
    """The SHA-256 hex digest of a file (of its first ``nbytes`` bytes if given)."""
    h = hashlib.sha256()
    left = nbytes
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(_HASH_BLOCK if left is None else min(_HASH_BLOCK, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def _field(header: dict, key: str, kind, path: Path):
    if key not in header:
        raise DataError(path, f"packed header lacks the field {key!r}")
    value = header[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(path, f"packed header field {key!r} should be "
                              f"{getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def read_header(root: str | os.PathLike) -> dict:
    """The parsed and checked ``header.json`` of the packed folder ``root``.

    Raises :class:`DataError` naming the header for a missing or unreadable file, bad JSON, a
    different format or version, or a missing or ill-typed field.
    """
    root = Path(root)
    path = root / HEADER_NAME
    if not root.is_dir():
        raise DataError(root, "no such packed dataset folder (make one with "
                              "`chainrule data pack DIR OUT`)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "missing: not a packed dataset folder (make one with "
                              "`chainrule data pack DIR OUT`)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(path, f"cannot read the packed header ({e})") from None
    try:
        header = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(path, f"corrupt packed header: not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise DataError(path, "corrupt packed header: not a JSON object")
    if header.get("format") != FORMAT_NAME:
        raise DataError(path, f"not a chainrule packed header (format "
                              f"{header.get('format')!r}, expected {FORMAT_NAME!r})")
    if header.get("version") != FORMAT_VERSION:
        raise DataError(path, f"packed format version {header.get('version')!r} is not "
                              f"supported (this chainrule reads version {FORMAT_VERSION})")
    count = _field(header, "count", int, path)
    shape = _field(header, "shape", list, path)
    if count < 0 or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise DataError(path, f"bad count {count!r} or item shape {shape!r} in packed header")
    if header.get("dtype") != "uint8" or header.get("labels_dtype") != "int64":
        raise DataError(path, f"packed header declares dtype {header.get('dtype')!r} / labels "
                              f"{header.get('labels_dtype')!r}; expected uint8 / int64")
    classes = _field(header, "classes", list, path)
    if not all(isinstance(c, str) for c in classes):
        raise DataError(path, "packed header field 'classes' should be a list of names")
    files = _field(header, "files", dict, path)
    for role in ("images", "labels"):
        entry = files.get(role)
        if not isinstance(entry, dict) or not all(k in entry for k in ("name", "bytes",
                                                                         "sha256")):
            raise DataError(path, f"packed header lacks files.{role} (name, bytes, sha256)")
        if Path(entry["name"]).name != entry["name"]:
            raise DataError(path, f"packed header names a file outside its folder: "
                                  f"{entry['name']!r}")
    item_bytes = int(np.prod(shape))
    for role, expected in (("images", count * item_bytes), ("labels", count * 8)):
        if files[role]["bytes"] != expected:
            raise DataError(path, f"packed header is inconsistent: files.{role}.bytes is "
                                  f"{files[role]['bytes']} but count {count} x shape {shape} "
                                  f"needs {expected}")
    return header


class _RawRows:
    """Fixed-size rows of a headerless file, read with ``os.preadv``."""

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: np.dtype, count: int):
        self.path, self.row_shape, self.dtype, self.count = path, row_shape, dtype, count
        self.row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
        expected = count * self.row_bytes
        try:
            size = os.path.getsize(path)
        except FileNotFoundError:
            raise DataError(path, "missing: the packed header lists this file") from None
        if size < expected:
            raise DataError(path, f"truncated file: the packed header declares {count} items "
                                  f"of {self.row_bytes} bytes = {expected} bytes, found {size}")
        if size > expected:
            raise DataError(path, f"file has {size - expected} bytes beyond the {expected} "
                                  f"the packed header declares")
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._pid = os.getpid()

    def _handle(self) -> int:
        if self._pid != os.getpid():  # a forked worker opens its own descriptor
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._pid = os.getpid()
        return self._fd

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """The rows at ``idx`` (already in ``[0, count)``), in that order: one positioned read
        per run of consecutive indices, straight into the batch array."""
        buf = np.empty((len(idx),) + self.row_shape, dtype=self.dtype)
        raw = memoryview(buf.reshape(-1).view(np.uint8))
        fd, rb = self._handle(), self.row_bytes
        if bool(np.all(np.diff(idx) == 1)):  # an unshuffled batch: one read
            if len(idx):
                _pread_into(fd, raw, int(idx[0]) * rb, self.path)
            return buf
        # A shuffled batch: runs in the order asked for, found in Python (for random
        # indices nearly every run is one item; sorting them first and scattering back was
        # measured 1.5x slower for 1024 shuffled 3 KiB rows from the page cache).
        where, m, a = idx.tolist(), len(idx), 0
        while a < m:
            b = a + 1
            while b < m and where[b] == where[b - 1] + 1:
                b += 1
            view = raw[a * rb:b * rb]
            if os.preadv(fd, [view], where[a] * rb) != len(view):
                _pread_into(fd, view, where[a] * rb, self.path)  # a short read: finish it
            a = b
        return buf

    def row(self, i: int) -> np.ndarray:
        """The row at ``i`` (already in ``[0, count)``): one positioned read."""
        buf = np.empty(self.row_shape, dtype=self.dtype)
        _pread_into(self._handle(), memoryview(buf.reshape(-1).view(np.uint8)),
                    i * self.row_bytes, self.path)
        return buf

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass

    def __getstate__(self) -> dict:  # a spawned worker reopens the file by path
        state = dict(self.__dict__)
        state["_fd"], state["_pid"] = -1, -1
        return state


class PackedDataset(Dataset):
    """Images and labels of a packed folder (see the module notes), streamed from disk.

    ``dataset[i]`` is ``(image, label)``: a C x H x W uint8 array (or ``transform(image)``)
    and an int (or ``target_transform(label)``). ``transform`` and ``target_transform`` are
    per-sample, as torchvision's datasets' are; with neither, the dataset is *batchable*: the
    DataLoader asks :meth:`get_batch` for a whole batch, read with one positioned read per run
    of consecutive indices, and ``batch_transform`` (if given) maps the uint8 batch
    (B x C x H x W) to what the loader hands out.

    ``classes`` and ``class_to_idx`` are as in torchvision's ImageFolder; ``header`` is the
    parsed ``header.json``. :meth:`verify` checks the SHA-256 checksums.
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, *,
                 batch_transform: Callable | None = None):
        self.root = Path(root)
        self.header = header = read_header(self.root)
        self.classes: list[str] = list(header["classes"])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.shape = tuple(header["shape"])
        self.transform, self.target_transform = transform, target_transform
        self.batch_transform = batch_transform
        files, count = header["files"], header["count"]
        self.images_path = self.root / files["images"]["name"]
        self.labels_path = self.root / files["labels"]["name"]
        self._images = _RawRows(self.images_path, self.shape, np.dtype(np.uint8), count)
        self._labels = _RawRows(self.labels_path, (), LABELS_DTYPE, count)

    @property
    def batchable(self) -> bool:
        """True when no per-sample transform is set (the DataLoader then reads whole batches)."""
        return self.transform is None and self.target_transform is None

    def __len__(self) -> int:
        return self._images.count

    def _indices(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"PackedDataset: indices must be integers, got dtype {np.dtype(idx.dtype).name}")
        idx = idx.astype(np.int64).reshape(-1)
        n = len(self)
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"PackedDataset {self.root}: index {bad} out of range for {n} "
                             f"items")
        return idx

    def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` at ``indices``: B x C x H x W uint8 and B int64, untransformed."""
        idx = self._indices(indices)
        labels = self._labels.rows(idx).astype(np.int64, copy=False)
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            at = int(idx[(labels < 0) | (labels >= len(self.classes))][0])
            raise DataError(self.labels_path, f"label of item {at} is outside [0, "
                                              f"{len(self.classes)}) (the header's classes)")
        return self._images.rows(idx), labels

    def get_batch(self, indices) -> tuple:
        """A batch for the DataLoader: ``(batch_transform(images) or images, labels)``."""
        if not self.batchable:
            raise TypeError("PackedDataset.get_batch: per-sample transforms are set; index "
                            "items one by one (the DataLoader does so itself)")
        x, y = self.read(indices)
        if self.batch_transform is not None:
            x = self.batch_transform(x)
        return x, y

    def __getitem__(self, index: int) -> tuple:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"PackedDataset: index must be an int, got "
                            f"{type(index).__name__}")
        i, n = int(index), len(self)
        if not -n <= i < n:
            raise IndexError(f"PackedDataset {self.root}: index {i} out of range for {n} items")
        i %= n
        image, label = self._images.row(i), int(self._labels.row(i))
        if not 0 <= label < len(self.classes):
            raise DataError(self.labels_path, f"label of item {i} is outside [0, "
                                              f"{len(self.classes)}) (the header's classes)")
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    @property
    def targets(self) -> list[int]:
        """Every label, read whole (8 bytes per item)."""
        return self._labels.rows(np.arange(len(self), dtype=np.int64)).tolist()

    def verify(self) -> None:
        """Check both files against the header's SHA-256 checksums (reads each file once);
        raises :class:`DataError` naming the file whose bytes changed."""
        for role, path in (("images", self.images_path), ("labels", self.labels_path)):
            expected = self.header["files"][role]["sha256"]
            got = sha256_file(path)
            if got != expected:
                raise DataError(path, f"checksum mismatch: SHA-256 {got}, the packed header "
                                      f"records {expected} (the file was changed or damaged; "
                                      f"pack it again)")

    def close(self) -> None:
        """Close the files (the dataset is unusable afterwards)."""
        self._images.close()
        self._labels.close()

    def __repr__(self) -> str:
        return (f"PackedDataset({self.root}: {len(self)} images of {tuple(self.shape)} uint8, "
                f"{len(self.classes)} classes)")
