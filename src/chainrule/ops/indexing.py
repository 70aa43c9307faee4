"""Indexing primitives: x[index] and take_along_axis, with their scatter-add adjoints.

The adjoint of reading elements is adding gradients back where they were read: for advanced
indices that repeat an element, the contributions add up (``np.add.at``), never overwrite. Each
scatter is itself a primitive whose backward is the read again, so second derivatives work too.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import fresh


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer))
               and not isinstance(p, bool) for p in parts)


def raw_index(index):
    """Replace Tensors in an index by their arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(p._data if isinstance(p, Tensor) else p for p in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _on_device(xp, index):
    """``index`` with its host arrays copied to ``xp``'s device (an index built on the host, e.g.
    by the caller; indices built here are made on the device and pass through untouched)."""
    if xp is np:
        return index
    if isinstance(index, tuple):
        return tuple(xp.asarray(p) if type(p) is np.ndarray else p for p in index)
    return xp.asarray(index) if type(index) is np.ndarray else index


def _scatter_raw(xp, g, shape, index, basic):
    index = _on_device(xp, index)
    out = xp.zeros(shape, dtype=g.dtype)
    if basic:
        out[index] = g
    else:
        xp.add.at(out, index, g)
    return out


class GetItem(Function):
    """z = x[index];  ∂L/∂x = zeros with ∂L/∂z added at the indexed places."""
    view = True

    def forward(self, xp, x, index=None):
        self.in_shape, self.index, self.basic = x.shape, index, _is_basic(index)
        return x[index]

    def explain_error(self, arrays, params, exc):
        return f"getitem: index {params['index']!r} is invalid for shape {tuple(arrays[0].shape)}: {exc}"

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (IndexScatter.apply(g, shape=self.in_shape, index=self.index, basic=self.basic),)
        return (_scatter_raw(xp, g, self.in_shape, self.index, self.basic),)


class IndexScatter(Function):
    """z = zeros(shape) with x added at ``index``;  ∂L/∂x = (∂L/∂z)[index]."""

    def forward(self, xp, x, shape=None, index=None, basic=False):
        self.index = index
        return _scatter_raw(xp, x, shape, index, basic)

    def backward(self, xp, g):
        return (g[self.index],)


def _along_index(idx, axis: int, x_shape: tuple | None = None):
    """A full advanced index that addresses ``a[..., idx, ...]`` along ``axis`` elementwise;
    axes where ``x_shape`` is 1 (broadcast against idx) always read position 0."""
    xp = np if type(idx) is np.ndarray else backend.get_array_module(idx)   # grids on idx's device
    nd = idx.ndim
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
             for d, n in enumerate(idx.shape)]
    if x_shape is not None:
        for d, n in enumerate(x_shape):
            if n == 1 and d != axis:
                grids[d] = xp.zeros_like(grids[d])
    grids[axis] = idx
    return tuple(grids)


class TakeAlongAxis(Function):
    """z = take_along_axis(x, idx, axis);  ∂L/∂x = ∂L/∂z scatter-added back at idx."""

    def forward(self, xp, x, idx=None, axis=0):
        axis = axis % x.ndim
        self.in_shape = x.shape
        others = lambda s: tuple(1 if i == axis else n for i, n in enumerate(s))  # noqa: E731
        shape = list(np.broadcast_shapes(others(x.shape), others(idx.shape)))
        shape[axis] = idx.shape[axis]
        self.full_index = _along_index(np.broadcast_to(idx, shape), axis, x.shape)
        return x[self.full_index]

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (IndexScatter.apply(g, shape=self.in_shape, index=self.full_index, basic=False),)
        return (_scatter_raw(xp, g, self.in_shape, self.full_index, False),)


def getitem(x, index):
    return GetItem.apply(x, index=raw_index(index))


def take_along_axis(x, idx, axis: int):
    idx = idx._data if isinstance(idx, Tensor) else (idx if backend.is_array(idx) else np.asarray(idx))
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices have {idx.ndim} dimensions but the tensor has "
                         f"{x.ndim}")
    return TakeAlongAxis.apply(x, idx=idx.astype(np.intp, copy=False), axis=axis)


def index_scatter(g, shape, index, basic=False):
    return IndexScatter.apply(g, shape=shape, index=index, basic=basic)


# -- gathers and scatters built from the two primitives above -------------------------------------
def _int_index(idx, op: str) -> np.ndarray:
    """An index argument (Tensor, array, list, int) as an intp array; a clear error otherwise."""
    a = idx._data if isinstance(idx, Tensor) else (idx if backend.is_array(idx) else np.asarray(idx))
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {np.dtype(a.dtype).name}")
    return a.astype(np.intp, copy=False)


def _check_bounds(idx: np.ndarray, size: int, op: str, axis: int) -> None:
    """IndexError unless 0 ≤ idx < size; for device indices checked there, reported at the next
    sync (no host read in the step)."""
    if idx.size and type(idx) is not np.ndarray:
        from .. import devices
        devices.defer_check(((idx < 0) | (idx >= size)).any(),
                            f"{op}: an index is out of bounds for dimension {axis} with size "
                            f"{size}; found on the GPU and reported at this sync")
        return
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{op}: index {int(bad)} is out of bounds for dimension {axis} with "
                         f"size {size}")


def wrap_negative(idx: np.ndarray, size: int, op: str, axis: int) -> np.ndarray:
    """Indices in [−size, size) with the negative ones counted from the end (PyTorch's rule for
    take_along_dim and Python's for lists); an IndexError naming the op for any other."""
    if idx.size and (idx.min() < -size or idx.max() >= size):
        bad = idx.max() if idx.max() >= size else idx.min()
        raise IndexError(f"{op}: index {int(bad)} is out of bounds for dimension {axis} with "
                         f"size {size}")
    return np.where(idx < 0, idx + size, idx) if idx.size and idx.min() < 0 else idx


def gather_index(x_shape: tuple, idx: np.ndarray, axis: int, op: str = "gather") -> tuple:
    """The advanced index that reads ``out[i][j][k] = x[i][idx[i][j][k]][k]`` (axis 1 shown).

    Like ``torch.gather``: ``idx`` has x's number of dimensions and, off ``axis``, sizes no
    larger than x's.
    """
    nd = len(x_shape)
    if idx.ndim != nd:
        raise ValueError(f"{op}: index has {idx.ndim} dimensions but the input has {nd} "
                         f"(shape {tuple(x_shape)})")
    axis = axis % max(nd, 1)
    for d, (n, m) in enumerate(zip(idx.shape, x_shape)):
        if d != axis and n > m:
            raise ValueError(f"{op}: index shape {tuple(idx.shape)} is larger than the input "
                             f"shape {tuple(x_shape)} in dimension {d}")
    _check_bounds(idx, x_shape[axis] if nd else 1, op, axis)
    if nd == 0:
        return ()
    return _along_index(idx, axis)


def gather(x, axis: int, idx):
    """z[i][j][k] = x[i][idx[i][j][k]][k] (for axis 1);  the gradient scatter-adds back at idx."""
    idx = _int_index(idx, "gather")
    if x.ndim == 0:
        gather_index((), idx, 0)
        return fresh(x)
    return GetItem.apply(x, index=gather_index(x.shape, idx, axis))


def take(x, indices, axis: int = 0):
    """NumPy's take along one axis: z = x[..., indices, ...];  repeated indices add gradients."""
    idx = _int_index(indices, "index_select")
    axis = axis % max(x.ndim, 1)
    _check_bounds(idx, x.shape[axis] if x.ndim else 1, "index_select", axis)
    if x.ndim == 0:
        return fresh(x)
    return GetItem.apply(x, index=(slice(None),) * axis + (idx,))


def scatter_add(x, axis: int, idx, src):
    """z = x with src[i][j][k] added at z[i][idx[i][j][k]][k] (axis 1 shown; repeats add up).

    ∂L/∂x = ∂L/∂z;  ∂L/∂src = ∂L/∂z gathered at idx (zero where src lies outside idx's shape).
    """
    from .elementwise import add

    idx = _int_index(idx, "scatter_add")
    if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
        raise ValueError(f"scatter_add: index shape {tuple(idx.shape)} must not exceed src shape "
                         f"{tuple(src.shape)} in any dimension")
    if x.ndim == 0:
        return add(x, src) if idx.size else fresh(x)
    index = gather_index(x.shape, idx, axis, "scatter_add")
    if tuple(src.shape) != tuple(idx.shape):
        src = getitem(src, tuple(slice(n) for n in idx.shape))
    return add(x, IndexScatter.apply(src, shape=tuple(x.shape), index=index, basic=False))
