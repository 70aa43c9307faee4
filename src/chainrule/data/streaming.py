"""Datasets read from disk batch by batch, never loaded whole.

:class:`MemmapDataset` opens uncompressed IDX or ``.npy`` files (the ``.npy`` header is parsed
by ``numpy.lib.format``; object arrays are refused, so nothing is unpickled) and exposes each as
a read-only memory-mapped array (``.inputs``, ``.targets``). A batch is read with positioned
reads (``os.preadv``) of the runs of consecutive rows it needs, straight into the batch array:
one read for an unshuffled batch, one per row for a shuffled one. Reading through the map
instead (a fancy index) was measured 4× slower for shuffled 1 KiB rows, and every page it
touches — with the kernel's fault-around, about 100 KiB per scattered row — stays counted in
the process's resident memory until released; so the map serves only where ``preadv`` cannot
(Fortran-ordered ``.npy``, platforms without ``preadv``), and its pages are then released with
``madvise(MADV_DONTNEED)`` after each batch.
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .checks import check_inputs, check_targets
from .dataset import Dataset
from .errors import DataError
from .idx import _is_gzip, read_idx_header

__all__ = ["MemmapDataset", "MappedFile", "open_memmap"]


def _npy_header(f, path: Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
    except ValueError as e:
        raise DataError(path, f"not a valid .npy file ({e})") from None
    if dtype.hasobject:
        raise DataError(path, f".npy file holds Python objects (dtype {dtype}); chainrule never "
                              f"unpickles data")
    return shape, fortran, dtype


def open_memmap(path) -> np.ndarray:
    """Map an uncompressed IDX or ``.npy`` file read-only as an array (big-endian IDX data
    keeps its big-endian dtype).

    Raises :class:`DataError` for a gzipped IDX file (which cannot be mapped), a wrong magic
    number, or a file shorter or longer than its header declares.
    """
    return _map_file(path)[0]


def _map_file(path) -> tuple[np.ndarray, mmap.mmap | None, int]:
    """``(array, mmap, data offset)`` for :func:`open_memmap`."""
    path = Path(path)
    if _is_gzip(path):
        raise DataError(path, "a gzip-compressed file cannot be memory-mapped; decompress it "
                              "first (e.g. `gunzip -k`) or load it whole with read_idx")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(6) == b"\x93NUMPY":
            f.seek(0)
            shape, fortran, dtype = _npy_header(f, path)
            offset, order, exact = f.tell(), "F" if fortran else "C", False
        else:
            header = read_idx_header(path)
            shape, dtype, offset, order, exact = header.shape, header.dtype, header.offset, "C", True
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        have = size - offset
        if have < nbytes:
            raise DataError(path, f"truncated file: its header declares shape {tuple(shape)} "
                                  f"of {dtype} = {nbytes} data bytes, found {have}")
        if exact and have > nbytes:
            raise DataError(path, f"file has {have - nbytes} bytes beyond the shape "
                                  f"{tuple(shape)} its header declares")
        if nbytes == 0:
            return np.empty(shape, dtype=dtype), None, offset
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return np.ndarray(shape, dtype=dtype, buffer=mm, offset=offset, order=order), mm, offset


def _pread_into(fd: int, view: memoryview, offset: int, path: Path) -> None:
    while len(view):
        got = os.preadv(fd, [view], offset)
        if got == 0:
            raise DataError(path, f"short read at byte {offset}: the file shrank after it was "
                                  f"opened")
        view, offset = view[got:], offset + got


class MappedFile:
    """One opened dataset file: its memory-mapped ``array`` and a row reader."""

    def __init__(self, path):
        self.path = Path(path)
        self.array, self._mm, self.offset = _map_file(self.path)
        if self.array.ndim == 0:
            raise DataError(self.path, "a dataset file needs at least one dimension (the items)")
        self._file = open(self.path, "rb")
        c_order = self.array.flags.c_contiguous
        self._pread = hasattr(os, "preadv") and c_order and self._mm is not None
        self.row_bytes = self.array[0:1].nbytes if len(self.array) else 0

    def __len__(self) -> int:
        return self.array.shape[0]

    def __getstate__(self) -> dict:  # to a DataLoader worker: reopened there by path
        return {"path": str(self.path)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """The rows at ``indices`` (in that order) as a new native-byte-order array."""
        n = len(self)
        idx = np.where(indices < 0, indices + n, indices)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"{self.path}: index out of range for {n} items")
        native = self.array.dtype.newbyteorder("=")
        if not self._pread:
            out = np.array(self.array[idx])
            self.release()
            return out.astype(native, copy=False)
        ordered = bool(np.all(idx[1:] >= idx[:-1]))
        order = None if ordered else np.argsort(idx, kind="stable")
        srt = idx if ordered else idx[order]
        buf = np.empty((len(srt),) + self.array.shape[1:], dtype=self.array.dtype)
        raw = memoryview(buf.reshape(-1).view(np.uint8))
        starts = np.flatnonzero(np.diff(srt, prepend=-2) != 1).tolist() + [len(srt)]
        fd, rb = self._file.fileno(), self.row_bytes
        for a, b in zip(starts[:-1], starts[1:]):  # one read per run of consecutive rows
            _pread_into(fd, raw[a * rb:b * rb], self.offset + int(srt[a]) * rb, self.path)
        if order is not None:
            out = np.empty_like(buf)
            out[order] = buf
            buf = out
        return buf.astype(native, copy=False)

    def release(self) -> None:
        """Drop the map's pages from this process (they stay in the page cache)."""
        if self._mm is not None and hasattr(mmap, "MADV_DONTNEED"):
            self._mm.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        self.array = None
        self._file.close()
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # an array still points into the map; the GC unmaps it later
                pass


class MemmapDataset(Dataset):
    """Inputs (and optionally targets) read from IDX or ``.npy`` files batch by batch.

    ``targets`` is a file path or an in-memory array. A batch is read from each file (see the
    module notes), in native byte order (integer targets as int64), checked (NaN in inputs,
    labels outside ``[0, num_classes)`` → :class:`DataError` naming the file and item) and
    transformed; resident memory stays about one batch however large the files.
    """

    batchable = True

    def __init__(self, inputs, targets=None, *, transform: Callable | None = None,
                 target_transform: Callable | None = None, num_classes: int | None = None,
                 check: bool = True):
        self._inputs = MappedFile(inputs)
        self.inputs_path = self._inputs.path
        self._targets = None
        self.targets_path = None
        self._target_array = None
        if isinstance(targets, (str, os.PathLike)):
            self._targets = MappedFile(targets)
            self.targets_path = self._targets.path
        elif targets is not None:
            self._target_array = np.asarray(targets)
        self.transform, self.target_transform = transform, target_transform
        self.num_classes, self.check = num_classes, check
        if self.targets is not None and len(self.targets) != len(self.inputs):
            where = f"{self.inputs_path} and {self.targets_path or 'the targets array'}"
            raise DataError(where, f"images and labels of different lengths: "
                                   f"{len(self.inputs)} inputs but {len(self.targets)} targets")

    @property
    def inputs(self) -> np.ndarray:
        """The inputs file as a read-only memory-mapped array."""
        return self._inputs.array

    @property
    def targets(self) -> np.ndarray | None:
        """The targets: a read-only memory-mapped array, the given array, or None."""
        return self._targets.array if self._targets is not None else self._target_array

    def __len__(self) -> int:
        return len(self._inputs)

    def _read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        x = self._inputs.rows(indices)
        y = None
        if self._targets is not None:
            y = self._targets.rows(indices)
        elif self._target_array is not None:
            y = self._target_array[indices]
        if y is not None and y.dtype.kind in "iu":
            y = y.astype(np.int64)
        if self.check:
            items = np.where(indices < 0, indices + len(self), indices)
            check_inputs(x, self.inputs_path, items)
            if y is not None:
                check_targets(y, self.targets_path or "targets array", self.num_classes, items)
        return x, y

    def get_batch(self, indices) -> tuple:
        x, y = self._read(np.asarray(indices, dtype=np.int64).reshape(-1))
        if self.transform is not None:
            x = self.transform(x)
        if y is None:
            return (x,)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __getitem__(self, index: int) -> tuple:
        return tuple(field[0] for field in self.get_batch(np.asarray([int(index)])))

    def close(self) -> None:
        """Close the files (the dataset is unusable afterwards)."""
        for f in (self._inputs, self._targets):
            if f is not None:
                f.close()

    def __repr__(self) -> str:
        return f"MemmapDataset({self.inputs_path}: {tuple(self.inputs.shape)} {np.dtype(self.inputs.dtype).name})"
