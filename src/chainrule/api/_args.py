"""Argument translation shared by the public API: PyTorch's dim/keepdim, NumPy's aliases, and
the one check every ``dim`` goes through (:func:`normalize_dim`, :func:`normalize_dims`)."""
from __future__ import annotations

import operator
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
    """``keepdim`` or its alias ``keepdims`` (one of them, not both)."""
    if keepdims is not None:
        if keepdim:
            raise TypeError("pass either keepdim or keepdims, not both")
        return bool(keepdims)
    return bool(keepdim)


def size_arg(size: tuple) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` the way PyTorch does; sizes are
    integers (a float or a bool is a TypeError, never truncated to one)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        if any(isinstance(s, bool) for s in size):
            raise TypeError
        return tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be integers, got {size!r}") from None


def size_keyword(fn):
    """Let a ``f(*size, ...)`` factory also take ``size=`` as a keyword, as PyTorch's do
    (``randn(size=(2, 3))``); giving it both ways is a TypeError."""
    import functools

    @functools.wraps(fn)
    def factory(*size, **kwargs):
        if "size" in kwargs:
            if size:
                raise TypeError(f"{fn.__name__}(): got the size both as positional arguments "
                                f"{size!r} and as size={kwargs['size']!r}")
            size = kwargs.pop("size")
            if not isinstance(size, (tuple, list)):
                raise TypeError(f"{fn.__name__}(): argument 'size' must be a tuple of ints, not "
                                f"{type(size).__name__}")
            size = (size,)
        return fn(*size, **kwargs)
    factory.__size_keyword_inner__ = fn   # api/out_arg.py wraps the inner factory, then this
    return factory


def int_arg(dim: Any, op: str, name: str = "dim") -> int:
    """An integer argument (a dim, an index, a count) as a Python int: ints, NumPy integers and
    integer 0-d tensors pass; bools, floats and the rest are a TypeError naming ``op`` and
    ``name`` (as in PyTorch, where ``sum(x, True)`` is no dim)."""
    if isinstance(dim, bool) or getattr(dim, "dtype", None) == bool:
        raise TypeError(f"{op}(): argument '{name}' must be int, not bool")
    try:
        return operator.index(dim)
    except TypeError:
        raise TypeError(f"{op}(): argument '{name}' must be int, not "
                        f"{type(dim).__name__}") from None


def normalize_dim(dim: Any, ndim: int, op: str, *, extra: int = 0, wrap_scalar: bool = True,
                  name: str = "dim") -> int:
    """``dim`` checked against a tensor of ``ndim`` dimensions and returned in [0, n), where
    n = ndim + extra (extra=1 for the new dim of unsqueeze and stack).

    As PyTorch's ``maybe_wrap_dim``: the valid range is [−n, n − 1]; a 0-d tensor counts as
    having one dim (dim 0 and −1 are valid, and give 0) unless ``wrap_scalar`` is False;
    anything else is an IndexError naming the op and the range."""
    d = dim if type(dim) is int else int_arg(dim, op, name)
    n = ndim + extra
    if n <= 0:
        if not wrap_scalar:
            raise IndexError(f"{op}: Dimension specified as {d} but tensor has no dimensions")
        n = 1
    if not -n <= d < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {d})")
    return d + n if d < 0 else d


def normalize_dims(dims: Any, ndim: int, op: str, *, wrap_scalar: bool = True,
                   allow_repeats: bool = False) -> tuple[int, ...]:
    """A dim or a sequence of dims, each through :func:`normalize_dim`, as a tuple; a dim that
    appears twice is a RuntimeError (PyTorch's rule) unless ``allow_repeats``."""
    if isinstance(dims, (list, tuple)):
        out = tuple(normalize_dim(d, ndim, op, wrap_scalar=wrap_scalar) for d in dims)
    else:
        out = (normalize_dim(dims, ndim, op, wrap_scalar=wrap_scalar),)
    if not allow_repeats and len(set(out)) != len(out):
        seen = set()
        for d in out:
            if d in seen:
                raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims")
            seen.add(d)
    return out


def reduce_axes(dim: Any, ndim: int, op: str):
    """The ``axis`` a reduction passes to ``ops``: None for all dims (dim None or ``()``, or a
    0-d input, whose only valid dims 0 and −1 reduce nothing), else a tuple of axes in
    [0, ndim)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    axes = normalize_dims(dim, ndim, op)
    return None if ndim == 0 else axes


def dims_arg(dims: tuple) -> tuple:
    """The dims of ``f(x, 1, 0)``, ``f(x, (1, 0))`` and ``f(x, [1, 0])`` as one tuple (their
    types are checked by :func:`normalize_dim`, so 1.0 or True is no dim)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)
