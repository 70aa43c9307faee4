"""Exact comparison of loaded checkpoint content (types, dtypes, shapes, bytes, NaNs)."""
from __future__ import annotations

import math

import numpy as np

import chainrule as cr


def same_content(a, b) -> bool:
    """True when ``a`` and ``b`` are the same tree: same container types and keys, tensors of
    the same dtype, shape and bytes, equal scalars (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, cr.Tensor):
        x, y = np.asarray(a), np.asarray(b)
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
    if isinstance(a, dict):
        return list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b)) \
            and all(same_content(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_content(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b
