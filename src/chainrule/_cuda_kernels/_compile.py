"""One cached ``cupy.ElementwiseKernel`` per (name, flags): kernels are built the first time an
update needs them, and the specialised source keeps flags out of the per-element work."""
from __future__ import annotations

from functools import lru_cache

import cupy


@lru_cache(maxsize=None)
def elementwise(in_params: str, out_params: str, body: str, name: str):
    """The ElementwiseKernel for this signature and body (compiled once, then cached)."""
    return cupy.ElementwiseKernel(in_params, out_params, body, name)
