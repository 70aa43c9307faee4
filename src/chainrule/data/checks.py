"""The value checks every dataset shares: lengths that match, finite numbers, labels in range,
and casts that do not overflow. Each raises :class:`DataError` naming the source (a file or a
description of the arrays), the array (``inputs`` / ``targets``) and the first bad index.

A value is *finite* when it is neither NaN nor ±inf (``numpy.isfinite``). A cast to a narrower
float (float64 → float32) *overflows* where a finite value has |x| > the target's largest
finite number and so would become ±inf; that is reported as an overflow, not as "inf in data".
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .errors import DataError

__all__ = ["check_arrays", "check_inputs", "check_targets", "check_finite", "cast_checked",
           "format_value"]


def format_value(value) -> str:
    """A number as a user would type it: ``1e300``, ``-3.5``, ``nan``, ``inf``."""
    v = float(value)
    if v != v:
        return "nan"
    if v in (np.inf, -np.inf):
        return "inf" if v > 0 else "-inf"
    return repr(v).replace("e+", "e")


def _index(idx: tuple, items: np.ndarray | None) -> tuple[int, str]:
    """(item number, the index written out) for a position in a batch whose rows are
    ``items`` of the whole data set (or the positions themselves)."""
    first = int(items[idx[0]]) if items is not None else int(idx[0])
    full = (first,) + tuple(int(i) for i in idx[1:])
    return first, ", ".join(map(str, full))


def first_true_index(bad) -> tuple:
    """The index (C order) of the first True in ``bad`` (a NumPy or CuPy array)."""
    return tuple(int(i) for i in np.unravel_index(int(bad.reshape(-1).argmax()), bad.shape))


def check_finite(array: np.ndarray, source, what: str = "inputs",
                 items: np.ndarray | None = None) -> None:
    """Raise :class:`DataError` if a float ``array`` holds NaN or ±inf, naming how many items
    are affected, the first of them and the index and value of its first bad entry."""
    if array.dtype.kind != "f" or not array.size:
        return
    arr = array.reshape(1) if array.ndim == 0 else array
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    idx = first_true_index(bad)
    item, where = _index(idx, items)
    value = format_value(arr[idx])
    label = "NaN" if value == "nan" else value
    count = int(bad.reshape(len(arr), -1).any(axis=1).sum())
    raise DataError(source, f"{label} in {what} ({count} item(s), first at item {item}): "
                            f"{what}[{where}] = {value}; {what} must be finite")


def cast_checked(array, dtype, source, what: str = "inputs"):
    """``array.astype(dtype)`` (NumPy or CuPy), refusing a cast that turns a finite value into
    ±inf (e.g. 1e300 to float32) with :class:`DataError` naming the value and its index."""
    xp = backend.get_array_module(array)
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and (array.dtype.kind in "biu" and dtype.itemsize >= 4
                              or array.dtype.kind == "f" and dtype.itemsize >= array.itemsize):
        return array.astype(dtype, copy=False)   # no value can overflow: skip the two passes
    with np.errstate(over="ignore", invalid="ignore"):
        out = array.astype(dtype, copy=False)
    if dtype.kind == "f" and array.dtype.kind in "fiu" and out is not array and out.size:
        over = xp.isinf(out) & xp.isfinite(array)
        if bool(over.any()):
            idx = first_true_index(over)
            _, where = _index(idx, None)
            where = f"({where})" if len(idx) > 1 else where
            limit = f"{float(np.finfo(dtype).max):.5g}".replace("e+", "e")
            raise DataError(source, f"{what}: value {format_value(array[idx])} at index "
                                    f"{where} overflows {dtype.name} (largest finite "
                                    f"{dtype.name}: {limit}); rescale it or keep a wider dtype")
    return out


def check_arrays(inputs, targets, source, num_classes: int | None = None,
                 items: np.ndarray | None = None) -> None:
    """Raise :class:`DataError` for mismatched lengths, non-finite values or out-of-range
    labels. ``items`` are the item numbers of the rows (for checks on one batch of a file)."""
    if targets is not None and len(inputs) != len(targets):
        raise DataError(source, f"images and labels of different lengths: {len(inputs)} inputs "
                                f"but {len(targets)} targets")
    check_inputs(inputs, source, items)
    if targets is not None:
        check_targets(targets, source, num_classes, items)


def check_inputs(inputs, source, items: np.ndarray | None = None) -> None:
    """Raise :class:`DataError` if float ``inputs`` contain NaN or ±inf."""
    check_finite(inputs, source, "inputs", items)


def check_targets(targets, source, num_classes: int | None = None,
                  items: np.ndarray | None = None) -> None:
    """Raise :class:`DataError` for non-finite targets or class labels outside
    ``[0, num_classes)``."""
    check_finite(targets, source, "targets", items)
    if num_classes is not None and targets.size:
        if targets.dtype.kind not in "iub":
            raise DataError(source, f"class labels must be integers, got dtype {np.dtype(targets.dtype).name}")
        bad = (targets < 0) | (targets >= num_classes)
        if bad.any():
            flat = targets.reshape(1) if targets.ndim == 0 else targets
            idx = first_true_index(bad.reshape(flat.shape))
            item, _ = _index(idx, items)
            raise DataError(source, f"labels out of range: label {int(flat[idx])} at item "
                                    f"{item}; expected 0 <= label < {num_classes}")
