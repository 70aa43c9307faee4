"""dtype names and PyTorch's type-promotion rules.

PyTorch's rule, which NumPy does not follow: categories rank bool < integer < floating. The result
takes the highest category present; within it, dimensioned tensors outrank zero-dimensional ones,
which outrank Python scalars. A Python float therefore never changes a float32 tensor's dtype, and
an int64 tensor times 0.5 gives the default float dtype (NumPy would give float64).
"""
from __future__ import annotations

import numpy as np

from . import backend


class dtype:
    """A chainrule dtype (``chainrule.float32``): prints as PyTorch's do, with chainrule's prefix,
    and stands for its NumPy dtype everywhere else: equal to it and to the scalar type
    (``cr.float32 == np.float32``), hashing as it, and accepted by NumPy wherever a dtype is
    (NumPy reads the ``.dtype`` attribute). Other attributes are the NumPy dtype's.
    ``format()`` (so f-strings) gives the same; error messages spell NumPy's name, 'float32'."""

    __slots__ = ("dtype", "is_floating_point", "is_complex", "is_signed", "itemsize", "kind")

    def __init__(self, np_dtype):
        d = np.dtype(np_dtype)
        self.dtype = d
        self.is_floating_point = d.kind == "f"
        self.is_complex = d.kind == "c"
        self.is_signed = d.kind in "fic"
        self.itemsize = d.itemsize
        self.kind = d.kind

    def __repr__(self) -> str:
        return "chainrule." + ("bool" if self.dtype.kind == "b" else self.dtype.name)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # f"{t.dtype}" reads as str(t.dtype), as in torch; messages format np.dtype(d).name
        return format(repr(self), spec)

    def __eq__(self, other) -> bool:
        if other is self:
            return True
        if other is None or isinstance(other, (int, float)):
            return False
        try:
            return self.dtype == np.dtype(other)
        except (TypeError, ValueError):
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __getattr__(self, name: str):
        return getattr(self.dtype, name)

    def to_real(self) -> "dtype":
        return self


_BY_NUMPY: dict = {}     # NumPy dtype -> the one chainrule dtype for it


def wrap(np_dtype) -> dtype:
    """The chainrule dtype for a NumPy dtype (one object per dtype, so ``is`` works)."""
    d = np.dtype(np_dtype)
    found = _BY_NUMPY.get(d)
    if found is None:
        found = _BY_NUMPY[d] = dtype(d)
    return found


float16 = half = wrap(np.dtype(np.float16))
float32 = wrap(np.dtype(np.float32))
float64 = double = wrap(np.dtype(np.float64))
int8 = wrap(np.dtype(np.int8))
uint8 = wrap(np.dtype(np.uint8))
int16 = short = wrap(np.dtype(np.int16))
int32 = wrap(np.dtype(np.int32))
int64 = long = wrap(np.dtype(np.int64))
bool_ = wrap(np.dtype(np.bool_))
# torch.float / torch.int are exported by chainrule/__init__.py (here they would shadow builtins)

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dt: np.dtype) -> int:
    return _CATEGORY[dt.kind]


def is_floating(dt: np.dtype) -> bool:
    return dt.kind == "f"


def to_dtype(dt) -> np.dtype:
    """Accept a dtype (chainrule's or NumPy's), a dtype name ('float32') or a Python type;
    return a NumPy dtype."""
    try:
        return np.dtype(dt)
    except TypeError:
        raise TypeError(f"unknown dtype {dt!r}; use e.g. chainrule.float32 or 'float64'") from None


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


def get_default_dtype() -> dtype:
    """The floating dtype factories use (``chainrule.float32`` unless changed), as the chainrule
    dtype object PyTorch code expects (it equals the NumPy dtype too, so either comparison holds);
    ``backend.get_default_dtype`` gives the plain NumPy dtype for internal use."""
    return wrap(backend.get_default_dtype())
