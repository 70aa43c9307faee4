"""Collation: a list of items → one batch of chainrule Tensors (PyTorch's ``default_collate``),
and arrays inside tuples, lists and dicts → Tensors."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .checks import cast_checked

__all__ = ["default_collate", "to_tensors"]


def _tensor(a) -> Tensor:
    if isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
        a = a.view(np.ndarray)  # e.g. a np.memmap slice: hand out a plain array
    return Tensor(a)


def to_tensors(batch):
    """Arrays (also inside tuples, lists, dicts) → Tensors, keeping dtypes."""
    if isinstance(batch, Tensor) or backend.is_array(batch):
        return _tensor(batch)
    if isinstance(batch, Mapping):
        return {k: to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_tensors(v) for v in batch)
    return batch


def _collate_numbers(samples: list) -> Tensor:
    """Python numbers → one Tensor whose dtype fits them all (as ``torch.tensor`` infers it):
    bool if all are bools, the default float dtype if any is a float, else int64 — so a
    float among ints is never truncated and an int among bools never becomes True."""
    if not all(isinstance(s, (bool, int, float)) for s in samples):
        other = next(s for s in samples if not isinstance(s, (bool, int, float)))
        raise TypeError(f"default_collate: a batch of numbers also holds a "
                        f"{type(other).__name__} ({other!r})")
    if all(isinstance(s, bool) for s in samples):
        return Tensor(np.asarray(samples, dtype=np.bool_))
    if any(isinstance(s, float) for s in samples):  # 1e300 is refused, not made inf
        wide = np.asarray(samples, dtype=np.float64)
        return Tensor(cast_checked(wide, backend.get_default_dtype(), "default_collate", "batch"))
    return Tensor(np.asarray(samples, dtype=np.int64))


def default_collate(batch: list) -> Any:
    """Stack a list of items into a batch: arrays/Tensors are stacked on a new axis 0, Python
    ints become int64 and floats the default dtype (a mix with any float: floats), and tuples,
    lists and dicts are collated field by field. Returns chainrule Tensors."""
    samples = batch
    if not samples:
        raise ValueError("default_collate: empty batch")
    elem = samples[0]
    if isinstance(elem, Tensor) or backend.is_array(elem) or isinstance(elem, np.generic):
        arrays = [s._data if isinstance(s, Tensor) else s for s in samples]
        xp = backend.get_array_module(*arrays)
        try:
            return _tensor(xp.stack(arrays))
        except ValueError:
            shapes = sorted({tuple(getattr(a, "shape", ())) for a in arrays})
            raise ValueError(f"default_collate: cannot stack items of different shapes "
                             f"{shapes[:4]}") from None
    if isinstance(elem, (bool, int, float)):
        return _collate_numbers(samples)
    if isinstance(elem, str):
        return list(samples)
    if isinstance(elem, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if any(len(s) != len(elem) for s in samples):
            raise ValueError(f"default_collate: items have different numbers of fields "
                             f"{sorted({len(s) for s in samples})}")
        fields = [default_collate(list(f)) for f in zip(*samples)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: cannot collate items of type {type(elem).__name__}; "
                    f"pass a collate_fn")
