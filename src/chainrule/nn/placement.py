"""Moving a Module's parameters, gradients and buffers to a device and/or floating dtype in place.

Each tensor keeps its identity (only its array is replaced), so an optimizer built before the
move still holds the same Parameters and keeps working.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import devices, dtypes
from ..tensor import Tensor
from .parameter import UninitializedArray

__all__ = ["move_module", "module_to"]


def _moved(arr, device, dtype, what: str):
    if dtype is not None and arr.dtype.kind == "f" and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if device is not None and isinstance(arr, UninitializedArray):
        arr.target = None if device.type == "cpu" else device   # a lazy placeholder: recorded,
        return arr                                                # used when it materializes
    return arr if device is None else devices.move_array(arr, device, what)


def move_module(module, device: "devices.device | None", dtype: np.dtype | None,
                what: str = "Module.to") -> None:
    """Put every parameter, its ``.grad`` and every buffer of ``module`` on ``device`` and cast the
    floating ones to ``dtype`` (either may be None: unchanged). CUDA is checked before anything
    moves, so a refused move leaves the module as it was."""
    if device is not None and device.type == "cuda":
        devices.require_cuda(f"{what}({str(device)!r})", device.index or 0)
    for t in itertools.chain(module.parameters(), module.buffers()):
        t._data = _moved(t._data, device, dtype, what)
        if t.grad is not None:
            t.grad = Tensor._wrap(_moved(t.grad._data, device, dtype, what), False, None)


def module_to(module, args: tuple, kwargs: dict):
    """:meth:`Module.to`'s argument forms: a device, a floating dtype, both, or a tensor."""
    device, dtype, _ = devices.parse_to_args("Module.to", args, kwargs)
    if dtype is not None:
        dtype = dtypes.to_dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")
    if device is not None or dtype is not None:
        move_module(module, device, dtype)
    return module


def place_new(module, device) -> None:
    """End of a layer's ``__init__``: put its new parameters and buffers on ``device`` (PyTorch's
    ``factory_kwargs``), or on the default device when None; nothing to do for the CPU. The values
    are drawn on the host first, so a seed gives the same weights on every device."""
    if device is None:
        target = devices.get_default_device()
        if target.type == "cpu":
            return
    else:
        target = devices.as_device(device)
    move_module(module, target, None, f"{type(module).__name__}(device=...)")
