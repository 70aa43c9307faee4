"""Argument translation shared by the public API: PyTorch's dim/keepdim, NumPy's aliases."""
from __future__ import annotations

from typing import Any


def dim_arg(dim: Any, axis: Any, default=None):
    """``dim`` or its alias ``axis`` (one of them, not both); lists become tuples."""
    if dim is not None and axis is not None:
        raise TypeError("pass either dim or axis, not both")
    d = dim if dim is not None else axis
    if d is None:
        return default
    if isinstance(d, list):
        d = tuple(d)
    if isinstance(d, tuple) and len(d) == 0:
        return None
    return d


def keep_arg(keepdim: Any, keepdims: Any) -> bool:
    """``keepdim`` or its alias ``keepdims``."""
    if keepdims is not None:
        return bool(keepdims)
    return bool(keepdim)


def size_arg(size: tuple) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` the way PyTorch does."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        return tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be integers, got {size!r}") from None
