"""``unique``: the distinct values of a tensor (or distinct slices along a dim), not
differentiable. Sorted ascending always (PyTorch's CPU result for sorted=False too); NaNs are
never equal to each other, so each one is its own value, as in PyTorch."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._args import normalize_dim

__all__ = ["unique"]


def _const(a) -> Tensor:
    return Tensor._wrap(a if backend.is_array(a) else np.asarray(a), False, None)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    """The distinct values (or, with ``dim``, distinct slices along it) in ascending order;
    with ``return_inverse`` also where each input entry went (int64, input's shape, or
    input.shape[dim] with a dim), with ``return_counts`` how often each value occurs (int64)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unique(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    a = input._data
    xp = backend.get_array_module(a)
    if dim is None:
        values, inverse, counts = xp.unique(a.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        d = normalize_dim(dim, input.ndim, "unique", wrap_scalar=False)
        empty = [i for i, n in enumerate(a.shape) if n == 0]
        if len(empty) > 1 or (empty and empty[0] != d):
            raise RuntimeError(f"unique: input of shape {tuple(a.shape)} has size-0 dims "
                               f"{empty}; with dim={dim} only the selected dim may be empty "
                               "(its slices would have no elements to compare)")
        if a.shape[d] == 0:
            values = a
            inverse, counts = xp.zeros(0, np.int64), xp.zeros(0, np.int64)
        else:
            values, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True,
                                                axis=d, equal_nan=False)
            inverse = inverse.reshape(-1)
    out = _const(values.astype(a.dtype, copy=False))
    if not (return_inverse or return_counts):
        return out
    extra = []
    if return_inverse:
        extra.append(_const(inverse.astype(np.int64)))
    if return_counts:
        extra.append(_const(counts.astype(np.int64)))
    return (out, *extra)
