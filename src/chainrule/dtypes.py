"""dtype names and PyTorch's type-promotion rules.

PyTorch's rule, which NumPy does not follow: categories rank bool < integer < floating. The result
takes the highest category present; within it, dimensioned tensors outrank zero-dimensional ones,
which outrank Python scalars. A Python float therefore never changes a float32 tensor's dtype, and
an int64 tensor times 0.5 gives the default float dtype (NumPy would give float64).
"""
from __future__ import annotations

import numpy as np

from . import backend

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
# torch.float / torch.int are exported by chainrule/__init__.py (here they would shadow builtins)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dtype: np.dtype) -> int:
    return _CATEGORY[dtype.kind]


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def to_dtype(dtype) -> np.dtype:
    """Accept a NumPy dtype, a dtype name ('float32') or a Python type; return a NumPy dtype."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; use e.g. chainrule.float32 or 'float64'") from None


def scalar_dtype(value) -> np.dtype:
    """The dtype a Python scalar gets when it stands alone (a float → the default dtype)."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int64
    return backend.get_default_dtype()


def result_type(a, b) -> np.dtype:
    """dtype of an elementwise op between ``a`` and ``b`` (arrays, Tensors or Python scalars)."""
    da = getattr(a, "dtype", None)
    db = getattr(b, "dtype", None)
    if da is not None and da == db:
        return da
    ranks = []
    for x, d in ((a, da), (b, db)):
        if d is None:  # Python scalar
            d = scalar_dtype(x)
            ranks.append((category(d), 0, d))
        else:
            ranks.append((category(d), 2 if x.ndim > 0 else 1, d))
    top_cat = max(r[0] for r in ranks)
    best = [r for r in ranks if r[0] == top_cat]
    top_prio = max(r[1] for r in best)
    dts = [r[2] for r in best if r[1] == top_prio]
    if top_prio == 0:  # only a Python scalar carries the top category
        return backend.get_default_dtype() if top_cat == 2 else dts[0]
    return np.result_type(*dts)
