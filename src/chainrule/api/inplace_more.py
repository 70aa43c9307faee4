"""More of PyTorch's placing ops and their in-place companions:
``scatter(reduce='add'|'multiply')`` (no derivative, as in PyTorch), and ``scatter_``,
``scatter_add_``, ``index_add_``, ``tril_``, ``triu_``; plus ``Tensor.is_contiguous``.

Each in-place form computes the out-of-place result and writes it into the tensor: inside a
graph it is recorded as the other in-place ops are (:mod:`.inplace_graph`), outside one it
stamps the version."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import grad_mode
from ..autograd.function import Function
from ..ops.indexing import _along_index, _check_bounds, _int_index
from ..tensor import Tensor
from . import placing
from .indexing import scatter_add
from ._args import normalize_dim
from .inplace_graph import must_record, rebase

__all__ = ["scatter"]


def _check_scatter_operands(op: str, input: Tensor, d: int, idx: np.ndarray, src) -> None:
    if idx.ndim != input.ndim:
        raise RuntimeError(f"{op}: index ({idx.ndim}-D) must have as many dims as input "
                           f"({input.ndim}-D)")
    if isinstance(src, Tensor):
        if src.dtype != input.dtype:
            raise TypeError(f"{op}(): expected self.dtype to be equal to src.dtype, got "
                            f"{np.dtype(input.dtype).name} and {np.dtype(src.dtype).name}")
        if src.ndim != idx.ndim or any(n > m for n, m in zip(idx.shape, src.shape)):
            raise RuntimeError(f"{op}: index shape {tuple(idx.shape)} must not exceed src "
                               f"shape {tuple(src.shape)} in any dimension")
    if any(n > m for i, (n, m) in enumerate(zip(idx.shape, input.shape)) if i != d):
        raise RuntimeError(f"{op}: index shape {tuple(idx.shape)} must not exceed input shape "
                           f"{tuple(input.shape)} outside dim {d}")
    _check_bounds(idx, input.shape[d] if input.ndim else 1, op, d)


class _ScatterReduce(Function):
    """z = input with src combined (+ or ×) at index; PyTorch gives it no derivative."""

    name = "scatter"

    def forward(self, xp, x, src, index=None, multiply=False):
        out = x.copy()
        (np.multiply if multiply else np.add).at(out, index, src)
        return out

    def backward(self, xp, g):
        raise RuntimeError("scatter: the derivative of scatter with reduce= is not implemented "
                           "(nor in PyTorch); use scatter_add, or scatter without reduce")


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """:func:`.placing.scatter`, plus ``reduce='add'`` / ``'multiply'``: src (or value) is added
    to / multiplied into input at index instead of written (repeated positions combine)."""
    if reduce is None:
        return placing.scatter(input, dim, index, src, value=value)
    if reduce not in ("add", "multiply"):
        raise RuntimeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
    if (src is None) == (value is None):
        raise TypeError("scatter(): pass exactly one of src (a tensor) or value (a number)")
    if input.ndim == 0:
        flat = scatter(ops.reshape(input, (1,)), 0, _int_index(index, "scatter").reshape(-1),
                       ops.reshape(src, (-1,)) if isinstance(src, Tensor) else src,
                       value=value, reduce=reduce)
        return ops.reshape(flat, ())
    d = normalize_dim(dim, input.ndim, "scatter")
    idx = _int_index(index, "scatter")
    src = value if src is None else src
    _check_scatter_operands("scatter", input, d, idx, src)
    if isinstance(src, Tensor):
        values = src if tuple(src.shape) == idx.shape else src[tuple(slice(n) for n in idx.shape)]
    else:
        values = Tensor._wrap(np.full(idx.shape, src, dtype=input.dtype), False, None)
    return _ScatterReduce.apply(input, values, index=_along_index(idx, d),
                                multiply=reduce == "multiply")


def _inplace(name: str, out_of_place):
    """The in-place method ``name`` writing ``out_of_place(self, ...)`` into self."""
    def method(self, *args, **kwargs):
        others = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        if must_record(self, name, *others):
            return rebase(self, name, lambda old: out_of_place(old, *args, **kwargs),
                          copy_old=True)
        with grad_mode.no_grad():
            result = out_of_place(Tensor._wrap(self._data, False, None), *args, **kwargs)
        if result._data is not self._data:
            self._data[...] = result._data
        return self
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place {name[:-1]}: writes the result into this tensor, returns it."
    return method


def is_contiguous(self, memory_format=None) -> bool:
    """True when the array is laid out row-major without gaps (what PyTorch calls contiguous);
    chainrule has one layout, so a channels_last query is True only where PyTorch's is (never
    for a freshly made tensor of more than one element per spatial place)."""
    from ..memory_formats import channels_last, channels_last_3d, check_memory_format
    check_memory_format(memory_format, "is_contiguous")
    flags = getattr(self._data, "flags", None)
    c = True if flags is None else bool(flags.c_contiguous)
    if memory_format in (channels_last, channels_last_3d):
        rank = 4 if memory_format is channels_last else 5
        if self._data.ndim != rank:
            return False
        # row-major NCHW is channels_last-contiguous only when C == 1 or H·W == 1 (PyTorch)
        shape = self._data.shape
        return c and (shape[1] == 1 or int(np.prod(shape[2:])) == 1)
    return c


def _attach() -> None:
    T = Tensor
    T.scatter = lambda self, dim, index, src=None, *, value=None, reduce=None: scatter(
        self, dim, index, src, value=value, reduce=reduce)
    T.scatter_ = _inplace("scatter_", scatter)
    T.scatter_add_ = _inplace("scatter_add_", scatter_add)
    T.index_add_ = _inplace("index_add_", placing.index_add)
    T.tril_ = _inplace("tril_", placing.tril)
    T.triu_ = _inplace("triu_", placing.triu)
    T.is_contiguous = is_contiguous


_attach()
