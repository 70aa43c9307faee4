"""Batches from workers to the main process through shared memory.

A worker lays every numeric array of a collated batch (Tensors, NumPy arrays, inside tuples,
lists and dicts) into one ``multiprocessing.shared_memory`` block and sends only a small
skeleton (shapes, dtypes, offsets, and any non-array leaves) through its pipe. The main
process copies the arrays out, then closes and unlinks the block at once, so no block
outlives the batch's arrival. Blocks are named ``<prefix><worker>_<task>``, so a pool can
sweep away any block a killed worker made but never announced.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from ...tensor import Tensor

__all__ = ["export_batch", "import_batch", "discard_block", "sweep_blocks"]

_ALIGN = 64


@dataclass(frozen=True)
class _Slot:
    """Where one array of the batch lies in the block."""
    offset: int
    shape: tuple
    dtype: str
    tensor: bool


def export_batch(batch, name: str) -> tuple[str | None, object]:
    """Write ``batch``'s arrays into a new shared-memory block called ``name``; returns
    (the block's name, or None when the batch holds no array, and the skeleton)."""
    arrays: list = []
    skeleton = _mark(batch, arrays)
    if not arrays:
        return None, skeleton
    offsets, total = [], 0
    for arr, _ in arrays:
        total = -(-total // _ALIGN) * _ALIGN
        offsets.append(total)
        total += arr.nbytes
    block = shared_memory.SharedMemory(name=name, create=True, size=max(total, 1))
    try:
        for (arr, _), off in zip(arrays, offsets):
            np.ndarray(arr.shape, arr.dtype, buffer=block.buf, offset=off)[...] = arr
    except BaseException:
        block.close()
        block.unlink()
        raise
    block.close()
    slots = [_Slot(off, tuple(arr.shape), arr.dtype.str, is_tensor)
             for (arr, is_tensor), off in zip(arrays, offsets)]
    return name, _replace(skeleton, slots)


class _Ref:
    """A placeholder for the k-th array while the skeleton is being built."""
    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k


def _mark(value, arrays: list):
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value._data if isinstance(value, Tensor) else value
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc":
            return value  # e.g. strings or a CuPy array: sent through the pipe as is
        arrays.append((arr, isinstance(value, Tensor)))
        return _Ref(len(arrays) - 1)
    if isinstance(value, Mapping):
        return {k: _mark(v, arrays) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_mark(v, arrays) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_mark(v, arrays) for v in value)
    return value


def _replace(value, slots: list):
    if isinstance(value, _Ref):
        return slots[value.k]
    if isinstance(value, dict):
        return {k: _replace(v, slots) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_replace(v, slots) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_replace(v, slots) for v in value)
    return value


def _rebuild(value, buf):
    if isinstance(value, _Slot):
        arr = np.ndarray(value.shape, np.dtype(value.dtype), buffer=buf,
                         offset=value.offset).copy()
        return Tensor._wrap(arr, False, None) if value.tensor else arr
    if isinstance(value, dict):
        return {k: _rebuild(v, buf) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_rebuild(v, buf) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_rebuild(v, buf) for v in value)
    return value


def import_batch(name: str | None, skeleton):
    """The batch a worker exported: its arrays copied out of the block, which is then
    closed and unlinked."""
    if name is None:
        return skeleton
    block = shared_memory.SharedMemory(name=name)
    try:
        return _rebuild(skeleton, block.buf)
    finally:
        block.close()
        block.unlink()


def discard_block(name: str | None) -> None:
    """Unlink a block whose batch is no longer wanted (an abandoned epoch, a shutdown)."""
    if name is None:
        return
    try:
        block = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return
    except (ValueError, OSError):
        # An empty block (its worker was stopped while creating it) cannot be mapped: remove
        # the name itself, so the sweep goes on and the real error is the one reported.
        _unlink_name(name)
        return
    block.close()
    block.unlink()


def _unlink_name(name: str) -> None:
    try:
        import _posixshmem
        _posixshmem.shm_unlink("/" + name)
    except (ImportError, FileNotFoundError, OSError):
        pass


def sweep_blocks(prefix: str) -> int:
    """Unlink every block in /dev/shm whose name starts with ``prefix``; returns how many."""
    try:
        names = [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]
    except OSError:
        return 0
    for n in names:
        discard_block(n)
    return len(names)
