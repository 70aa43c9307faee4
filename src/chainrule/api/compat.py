"""PyTorch compatibility, part 1 of issue #18: function forms PyTorch programs call
(``clone``, ``numel``, ``allclose``, ``softmax``, ``log_softmax``), the memory-format markers,
and the Tensor methods of the new functions in :mod:`.transcendental`, :mod:`.products`,
:mod:`.placing`, :mod:`.unique` and :mod:`.grids`. Importing this module attaches the methods;
``chainrule`` re-exports everything in ``__all__``."""
from __future__ import annotations

import numpy as np

from ..memory_formats import (memory_format, contiguous_format, preserve_format,  # noqa: F401
                              channels_last, channels_last_3d, check_memory_format)
from ..ops.unary import Clone
from ..tensor import Tensor
from . import grids as _G, placing as _L, products as _P, transcendental as _T, unique as _U

__all__ = (["clone", "numel", "allclose", "equal", "softmax", "log_softmax", "memory_format",
            "contiguous_format", "preserve_format", "channels_last", "channels_last_3d"]
           + _T.__all__ + _P.__all__ + _L.__all__ + _U.__all__ + _G.__all__)

globals().update({name: getattr(mod, name) for mod in (_T, _P, _L, _U, _G)
                  for name in mod.__all__})


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` (a new tensor, in the graph: ∂L/∂input = ∂L/∂z)."""
    check_memory_format(memory_format, "clone", input._data.ndim)
    return Clone.apply(input)


def numel(input: Tensor) -> int:
    """The number of elements."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return int(input._data.size)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when |input − other| ≤ atol + rtol·|other| everywhere (the two broadcast, and must
    share a dtype, as in PyTorch); NaNs count as equal only with ``equal_nan``."""
    for t, name in ((input, "input"), (other, "other")):
        if not isinstance(t, Tensor):
            raise TypeError(f"allclose(): argument '{name}' must be a Tensor, not "
                            f"{type(t).__name__}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"allclose: {np.dtype(input.dtype).name} did not match {np.dtype(other.dtype).name}")
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    except ValueError:
        raise RuntimeError(f"allclose: shapes {tuple(input.shape)} and {tuple(other.shape)} do "
                           f"not broadcast") from None
    return bool(np.all(np.isclose(input._data, other._data, rtol=rtol, atol=atol,
                                  equal_nan=equal_nan)))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when the two have the same shape and every element equal (no broadcasting; NaN is
    never equal to itself, as in PyTorch)."""
    for t, name in ((input, "input"), (other, "other")):
        if not isinstance(t, Tensor):
            raise TypeError(f"equal(): argument '{name}' must be a Tensor, not "
                            f"{type(t).__name__}")
    if tuple(input.shape) != tuple(other.shape):
        return False
    from ..backend import get_array_module
    xp = get_array_module(input._data, other._data)
    return bool(xp.all(input._data == other._data))


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """e^{xᵢ}/Σⱼ e^{xⱼ} along ``dim`` (the fused, stable primitive of nn.functional)."""
    from ..nn.functional.activation import softmax as _softmax   # nn sits above api
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """xᵢ − log Σⱼ e^{xⱼ} along ``dim`` (fused and stable)."""
    from ..nn.functional.activation import log_softmax as _log_softmax
    return _log_softmax(input, dim, dtype=dtype)


def _contiguous(self, memory_format=None) -> Tensor:
    """``self`` when its array is C-contiguous (PyTorch's rule: no copy), else a contiguous
    copy in the graph."""
    check_memory_format(memory_format, "contiguous", self._data.ndim)
    flags = getattr(self._data, "flags", None)
    if flags is None or flags.c_contiguous:
        return self
    return Clone.apply(self)


def _nelement(self) -> int:
    return int(self._data.size)


def _scatter_method(self, dim, index, src=None, *, value=None, reduce=None):
    return _L.scatter(self, dim, index, src, value=value, reduce=reduce)


def _attach() -> None:
    from .pointwise import div
    from .shaping import bmm
    T = Tensor
    for name in _T.__all__ + ["addmm", "dot", "vdot", "mv", "outer", "ger", "index_add",
                              "tril", "triu", "unique"]:
        setattr(T, name, globals()[name])
    T.scatter = _scatter_method
    T.bmm = bmm
    T.true_divide = div
    T.allclose = allclose
    T.equal = equal
    T.nelement = _nelement
    T.contiguous = _contiguous
    T.clone = clone       # the method of api.methods, with memory_format= accepted


_attach()
