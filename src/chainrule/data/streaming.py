"""Datasets read from disk batch by batch through a memory map, never loaded whole.

:class:`MemmapDataset` maps an uncompressed IDX or ``.npy`` file (the ``.npy`` header is parsed
by ``numpy.lib.format``; object arrays are refused, so nothing is unpickled) and fetches each
batch with one fancy index into the map. The mapping is chainrule's own ``mmap`` rather than
``np.load(mmap_mode='r')`` so that, after each batch is copied out, it can tell the kernel
(``madvise(MADV_DONTNEED)``) to drop the file pages from this process: pages read through a
map otherwise stay counted in the process's resident memory until the whole file is resident.
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .dataset import Dataset, check_inputs, check_targets
from .errors import DataError
from .idx import _is_gzip, read_idx_header

__all__ = ["MemmapDataset", "open_memmap"]


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


def open_memmap(path) -> tuple[np.ndarray, mmap.mmap | None]:
    """Map an uncompressed IDX or ``.npy`` file read-only; returns ``(array, mmap)``.

    Raises :class:`DataError` for a gzipped IDX file (which cannot be mapped), a wrong magic
    number, or a file shorter or longer than its header declares.
    """
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
            return np.empty(shape, dtype=dtype), None
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return np.ndarray(shape, dtype=dtype, buffer=mm, offset=offset, order=order), mm


class MemmapDataset(Dataset):
    """Inputs (and optionally targets) memory-mapped from IDX or ``.npy`` files.

    ``targets`` is a file path or an in-memory array. A batch is read with one fancy index per
    file, copied into memory in native byte order (integer targets as int64), checked (NaN in
    inputs, labels outside ``[0, num_classes)`` → :class:`DataError` naming the file and item)
    and transformed; then the file pages are released so resident memory stays about one
    batch however large the file.
    """

    batchable = True

    def __init__(self, inputs, targets=None, *, transform: Callable | None = None,
                 target_transform: Callable | None = None, num_classes: int | None = None,
                 check: bool = True):
        self.inputs_path = Path(inputs)
        self.inputs, self._maps = self._open(self.inputs_path)
        self.targets_path = None
        if isinstance(targets, (str, os.PathLike)):
            self.targets_path = Path(targets)
            self.targets, more = self._open(self.targets_path)
            self._maps += more
        else:
            self.targets = None if targets is None else np.asarray(targets)
        self.transform, self.target_transform = transform, target_transform
        self.num_classes, self.check = num_classes, check
        if self.targets is not None and len(self.targets) != len(self.inputs):
            where = f"{self.inputs_path} and {self.targets_path or 'the targets array'}"
            raise DataError(where, f"images and labels of different lengths: "
                                   f"{len(self.inputs)} inputs but {len(self.targets)} targets")

    @staticmethod
    def _open(path: Path):
        arr, mm = open_memmap(path)
        if arr.ndim == 0:
            raise DataError(path, "a dataset file needs at least one dimension (the items)")
        return arr, [mm] if mm is not None else []

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def _release(self) -> None:
        if hasattr(mmap, "MADV_DONTNEED"):
            for mm in self._maps:
                mm.madvise(mmap.MADV_DONTNEED)

    def _read(self, indices) -> tuple[np.ndarray, np.ndarray | None]:
        native = self.inputs.dtype.newbyteorder("=")
        x = np.asarray(self.inputs[indices], dtype=native)
        y = None
        if self.targets is not None:
            y = np.asarray(self.targets[indices])
            y = y.astype(np.int64) if y.dtype.kind in "iu" else y.astype(y.dtype.newbyteorder("="))
        self._release()
        if self.check:
            items = np.where(indices < 0, indices + len(self), indices)
            check_inputs(x, self.inputs_path, items)
            if y is not None:
                check_targets(y, self.targets_path or "targets array", self.num_classes, items)
        return x, y

    def get_batch(self, indices) -> tuple:
        x, y = self._read(np.asarray(indices, dtype=np.int64))
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
        """Unmap the files (the dataset is unusable afterwards)."""
        self.inputs = self.targets = None
        for mm in self._maps:
            try:
                mm.close()
            except BufferError:  # an array still points into the map; the GC unmaps it later
                pass
        self._maps = []

    def __repr__(self) -> str:
        return f"MemmapDataset({self.inputs_path}: {tuple(self.inputs.shape)} {self.inputs.dtype})"
