"""``Tensor.view`` with PyTorch's two forms: ``view(*shape)`` (a reshape) and ``view(dtype)``.

``view(dtype)`` reinterprets the same bytes as another dtype, sharing storage (writes through one
show in the other). With equal item sizes the shape is kept; otherwise the last dimension is
scaled by old itemsize / new itemsize, so it must be contiguous and, when growing the item,
divisible by the ratio (PyTorch's rules and errors). The result is outside autograd, as
PyTorch's: a reinterpretation of bits has no derivative.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import shaping as S

__all__ = ["view", "view_as_dtype"]


def _as_dtype_arg(value):
    """The NumPy dtype ``value`` names, or None when it is a shape entry instead."""
    if isinstance(value, (int, np.integer, tuple, list)) or value is None:
        return None
    if isinstance(value, (dtypes.dtype, np.dtype, str)) or (isinstance(value, type) and
                                                             issubclass(value, np.generic)):
        try:
            return dtypes.to_dtype(value)
        except TypeError:
            return None
    return None


def view_as_dtype(input: Tensor, dtype) -> Tensor:
    """The bytes of ``input`` read as ``dtype`` (no copy, no gradient)."""
    new = dtypes.to_dtype(dtype)
    arr = input._data
    old = arr.dtype
    src, dst = dtypes.wrap(old), dtypes.wrap(new)
    if new.itemsize != old.itemsize:
        if arr.ndim == 0:
            raise RuntimeError(f"view: a 0-d tensor cannot be viewed as {dst} from {src} "
                               "(different element sizes)")
        if new.itemsize > old.itemsize and arr.shape[-1] % (new.itemsize // old.itemsize):
            raise RuntimeError(f"view: the last dimension ({arr.shape[-1]}) must be divisible "
                               f"by {new.itemsize // old.itemsize} to view {src} as {dst} "
                               "(different element sizes)")
        if arr.shape[-1] != 1 and arr.strides[-1] != old.itemsize:
            raise RuntimeError(f"view: the last dimension must be contiguous (stride 1) to view "
                               f"{src} as {dst} (different element sizes); call .contiguous() "
                               "first")
    try:
        out = arr.view(new)
    except ValueError as exc:    # NumPy's layout refusal, on the failure path only
        raise RuntimeError(f"view: cannot view this {src} tensor of shape {tuple(arr.shape)} as "
                           f"{dst}: {exc}") from None
    t = Tensor._wrap(out, False, None)
    t._vcell = input._shared_version_cell()
    return t


def view(self: Tensor, *shape, dtype=None) -> Tensor:
    """``view(*shape)``: the same elements in a new shape; ``view(dtype)``: the same bytes read
    as another dtype (see the module docstring)."""
    if dtype is None and len(shape) == 1:
        dtype = _as_dtype_arg(shape[0])
        if dtype is not None:
            shape = ()
    if dtype is not None:
        if shape:
            raise TypeError("view(): pass either a shape or a dtype, not both")
        return view_as_dtype(self, dtype)
    return S.reshape(self, *shape)


Tensor.view = view
