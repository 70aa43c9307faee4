"""Do the ranks agree on what they pass? A collective whose ranks pass tensors of different
shapes or dtypes would hang, fail deep inside MPI or mix bytes; so before the data moves, the
ranks compare a small header of (ndim, dtype, shape) — one non-blocking allreduce(MAX) of
(h, −h), which gives the maximum and the minimum of every entry at once: they agree exactly when
the two are equal. On a disagreement every rank learns it from the same numbers, gathers all
headers (the failure path only) and raises the same error naming each rank's shape and dtype.
"""
from __future__ import annotations

import numpy as np

from .work import Work

_DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float16", "float32", "float64", "complex64", "complex128")
_DIMS = 8                       # shape entries sent as they are; more are folded into one
HEADER_LEN = 3 + _DIMS


def dtype_code(dtype) -> int:
    """A number for ``dtype`` that is the same on every rank."""
    name = np.dtype(dtype).name
    return _DTYPES.index(name) if name in _DTYPES else 100 + np.dtype(dtype).itemsize


def dtype_name(code: int) -> str:
    return _DTYPES[code] if 0 <= code < len(_DTYPES) else f"a {code - 100}-byte dtype"


def header(shape: tuple, dtype) -> np.ndarray:
    """(ndim, dtype code, shape[0..7] padded with −1, a fold of any further dims)."""
    h = np.full(HEADER_LEN, -1, np.int64)
    h[0], h[1] = len(shape), dtype_code(dtype)
    h[2:2 + min(len(shape), _DIMS)] = shape[:_DIMS]
    fold = 0
    for d in shape[_DIMS:]:
        fold = (fold * 1000003 + int(d) + 1) % (1 << 61)
    h[-1] = fold
    return h


def max_min(comm, values: np.ndarray, who: str, seq: int) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise (max, min) of ``values`` over the ranks: one allreduce, deadline-polled."""
    from mpi4py import MPI
    both = np.concatenate([values, -values])
    Work(comm.Iallreduce(MPI.IN_PLACE, both, op=MPI.MAX), who, seq).wait()
    n = values.size
    return both[:n], -both[n:]


def _describe(h) -> str:
    ndim = int(h[0])
    dims = [int(d) for d in h[2:2 + min(ndim, _DIMS)]]
    shape = "(" + ", ".join(map(str, dims)) + (", ..." if ndim > _DIMS else "") + \
        ("," if ndim == 1 else "") + ")"
    return f"shape {shape}, dtype {dtype_name(int(h[1]))}"


def check(comm, who: str, seq: int, shape: tuple, dtype) -> None:
    """Raise (on every rank alike) unless every rank passed the same shape and dtype."""
    h = header(tuple(shape), dtype)
    hi, lo = max_min(comm, h, who, seq)
    if np.array_equal(hi, lo):
        return
    everyone = np.empty((comm.Get_size(), HEADER_LEN), np.int64)
    Work(comm.Iallgather(h, everyone), who, seq).wait()
    what = "dtype" if hi[1] != lo[1] else "shape"
    ranks = "; ".join(f"rank {r}: {_describe(row)}" for r, row in enumerate(everyone))
    raise ValueError(f"{who}: the ranks passed tensors of different {what}s ({ranks}); every "
                     "rank must pass a tensor of the same shape and dtype")
