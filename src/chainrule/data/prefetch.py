"""Pinned host batches and a device-side prefetcher for training on a GPU.

:func:`pin_batch` copies a batch's arrays into page-locked host memory (what
``DataLoader(pin_memory=True)`` does when CUDA is available; on the CPU it is a no-op, as in
PyTorch). :class:`DevicePrefetcher` wraps a loader for a model on a GPU: while step k trains it
already copies batch k+1 to the device on a second CUDA stream, so the training stream finds
each batch there. The copy engine and the kernels work at once; the training stream waits for
the copy with a device-side event, never the host.

Because the next batch is drawn one step early, a loader's position counts it while step k
runs (only a mid-epoch checkpoint could tell); the Trainer uses the prefetcher on CUDA only.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from .. import backend, devices
from ..tensor import Tensor

__all__ = ["pin_batch", "pinning_available", "DevicePrefetcher", "prefetch_to"]


def pinning_available() -> bool:
    """True when CUDA is usable, so pinned host memory exists (checked without raising)."""
    return devices.cupy_status()[1] is None


def _leaves(batch: Any, out: list) -> Any:
    """The batch's structure with each host array replaced by its index in ``out``."""
    if isinstance(batch, Tensor) and isinstance(batch._data, np.ndarray):
        out.append(batch._data)
        return ("tensor", len(out) - 1, batch.requires_grad)
    if isinstance(batch, np.ndarray):
        out.append(batch)
        return ("array", len(out) - 1)
    if isinstance(batch, (tuple, list)):
        return (type(batch), [_leaves(b, out) for b in batch])
    if isinstance(batch, dict):
        return (dict, {k: _leaves(v, out) for k, v in batch.items()})
    return ("keep", batch)


def _rebuild(shape: Any, arrays: list) -> Any:
    kind = shape[0]
    if kind == "tensor":
        return Tensor._wrap(arrays[shape[1]], shape[2], None)
    if kind == "array":
        return Tensor._wrap(arrays[shape[1]], False, None)
    if kind == "keep":
        return shape[1]
    if kind is dict:
        return {k: _rebuild(v, arrays) for k, v in shape[1].items()}
    items = [_rebuild(v, arrays) for v in shape[1]]
    return kind(items) if kind in (list, tuple) else kind(*items)   # namedtuples too


def pin_batch(batch: Any) -> Any:
    """``batch`` with its host arrays in page-locked memory when CUDA is available, else the
    batch itself (PyTorch's ``pin_memory`` on a machine without an accelerator)."""
    if not pinning_available():
        return batch
    arrays: list = []
    shape = _leaves(batch, arrays)
    kernels = backend.cuda_kernels("transfer")
    return _rebuild(shape, [kernels.pinned_copy(a) for a in arrays])


class DevicePrefetcher:
    """Iterate ``loader``'s batches already on GPU ``device``, the next one copied on a second
    stream while the current one is used (host arrays are pinned first)."""

    def __init__(self, loader: Iterable, device: Any):
        self.loader = loader
        self.device = devices.as_device(device)
        if self.device.type != "cuda":
            raise ValueError(f"DevicePrefetcher: expected a CUDA device, got {self.device}")
        devices.require_cuda("DevicePrefetcher", self.device.index or 0)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator:
        kernels = backend.cuda_kernels("transfer")
        copier = kernels.CopyStream(self.device.index or 0)
        source = iter(self.loader)

        def start():
            try:
                batch = next(source)
            except StopIteration:
                return None
            arrays: list = []
            shape = _leaves(batch, arrays)
            pinned = [a if _is_pinned(a) else kernels.pinned_copy(a) for a in arrays]
            moved, done = copier.upload(pinned)
            return shape, moved, done, pinned   # pinned kept alive until the copy is done

        pending = start()
        while pending is not None:
            shape, moved, done, pinned = pending
            copier.hand_over(done)
            pending = start()                   # batch k+1 travels while batch k trains
            if not done.done:                   # the pinned source must outlive its copy
                done.synchronize()
            del pinned
            yield _rebuild(shape, moved)


def _is_pinned(a: np.ndarray) -> bool:
    """True for arrays made by :func:`pin_batch` (their buffer is CuPy pinned memory)."""
    base = a
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return type(base).__name__ == "PinnedMemoryPointer"


def prefetch_to(loader: Iterable, device: Any) -> Iterable:
    """``loader`` wrapped in a :class:`DevicePrefetcher` when ``device`` is a GPU, else itself."""
    if device is None or devices.as_device(device).type != "cuda":
        return loader
    return DevicePrefetcher(loader, device)
