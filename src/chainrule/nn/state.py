"""Loading a state dict into a Module: match keys, check shapes, then copy (cast to each
target's dtype, onto its device) — all checks happen before anything is written, so a failed load
changes nothing. A lazy module's placeholders take their shapes from the loaded values (see
``nn.lazy``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend, devices
from ..tensor import Tensor
from .parameter import is_lazy

__all__ = ["IncompatibleKeys", "load_state_dict"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it expected but did not get, and the reverse."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"     # torch's _IncompatibleKeys
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")

    __str__ = __repr__


def _as_array(value, key: str) -> np.ndarray:
    """A state-dict value (chainrule Tensor, NumPy array, PyTorch tensor, list) as an array."""
    if isinstance(value, Tensor):
        return value._data
    if backend.is_array(value):                              # NumPy, or CuPy
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a PyTorch tensor
        value = value.detach().cpu()
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is reported the same way
        raise TypeError(f"load_state_dict: the value for {key!r} ({type(value).__name__}) cannot "
                        f"be converted to an array: {exc}") from None


def load_state_dict(module, state_dict, strict: bool = True,
                    assign: bool = False) -> IncompatibleKeys:
    """See :meth:`Module.load_state_dict`."""
    if not hasattr(state_dict, "keys"):
        raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
    own = module._state_entries()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict.keys() if k not in own]
    errors = []
    if strict:
        if missing:
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ".")
        if unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ".")
    from .lazy import plan_lazy_loads  # lazy layers are built on this module's importers
    plans, lazy_shapes = plan_lazy_loads(module, state_dict, errors)
    arrays = {}
    for key, target in own.items():
        if key not in state_dict:
            continue
        if is_lazy(state_dict[key]):
            if not is_lazy(target):
                errors.append(f"{key} is uninitialized in the state_dict (a lazy module that "
                              "never ran forward) and cannot be copied into an initialized one.")
            continue
        arr = _as_array(state_dict[key], key)
        if is_lazy(target):  # its module infers the shape from the loaded ones
            if key not in lazy_shapes:
                errors.append(f"{key} is an uninitialized parameter outside a lazy module: "
                              "materialize it before loading.")
            shape = lazy_shapes.get(key)
            if shape is None:
                continue
        else:
            shape = tuple(target.shape)
        if tuple(arr.shape) != shape:
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                          f"is {shape}.")
        arrays[key] = arr
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))
    for plan in plans:  # all checks passed: nothing is half-loaded
        plan.apply()
    for key, arr in arrays.items():
        target = own[key]
        moved = devices.move_array(arr, target.device, "load_state_dict")  # onto its device
        if assign:
            target._data = moved.copy() if moved is arr else moved
        else:
            target._data[...] = moved.astype(target.dtype, copy=False)
        target._bump_version()
    return IncompatibleKeys(missing, unexpected)
