"""In-place updates of a tensor's values (``zero_``, ``fill_``, ``copy_``, ``add_``, ...,
``t[i] = v``). Outside a graph (parameters under no_grad, initialisers, buffers) each stamps the
tensor's version (and its views'), which is how backward notices a saved value that changed.
Inside one (a non-leaf, or a value that requires grad) ``zero_``, ``fill_``, ``copy_``, ``add_``,
``sub_``, ``mul_``, ``div_`` and ``t[i] = v`` are recorded as PyTorch records them (see
:mod:`.inplace_graph`); the others refuse."""
from __future__ import annotations

import numpy as np

from ..generator import numpy_generator
from ..tensor import Tensor
from .. import ops
from .inplace_graph import must_record, rebase, assign


def _operand(value):
    return value._data if isinstance(value, Tensor) else value

def zero_(self) -> Tensor:
    if must_record(self, "zero_"):
        return rebase(self, "zero_", lambda old: assign(old, 0))
    self._data[...] = 0
    return self

def fill_(self, value) -> Tensor:
    if must_record(self, "fill_", value):
        return rebase(self, "fill_", lambda old: assign(old, value))
    self._data[...] = _operand(value)
    return self

def copy_(self, src, non_blocking: bool = False) -> Tensor:
    """Write ``src`` (broadcast) into this tensor; ``non_blocking`` is accepted (host copies
    here are synchronous, which PyTorch's non_blocking=True permits)."""
    if must_record(self, "copy_", src):
        if tuple(np.shape(_operand(src))) != tuple(self.shape):
            try:
                np.broadcast_shapes(tuple(np.shape(_operand(src))), tuple(self.shape))
            except ValueError:
                raise ValueError(f"copy_: cannot copy a source of shape {np.shape(_operand(src))} "
                                 f"into a tensor of shape {tuple(self.shape)}") from None
        return rebase(self, "copy_", lambda old: assign(old, src))
    src = _operand(src)
    try:
        self._data[...] = src
    except ValueError:
        raise ValueError(f"copy_: cannot copy a source of shape {np.shape(src)} into a tensor "
                         f"of shape {tuple(self.shape)}") from None
    return self

def add_(self, other, alpha=1) -> Tensor:
    if must_record(self, "add_", other):
        return rebase(self, "add_", lambda old: ops.add(old, other if alpha == 1 else other * alpha))
    other = _operand(other)
    self._data += other if alpha == 1 else alpha * other
    return self

def sub_(self, other, alpha=1) -> Tensor:
    if must_record(self, "sub_", other):
        return rebase(self, "sub_", lambda old: ops.subtract(old, other if alpha == 1 else other * alpha))
    other = _operand(other)
    self._data -= other if alpha == 1 else alpha * other
    return self

def mul_(self, other) -> Tensor:
    if must_record(self, "mul_", other):
        return rebase(self, "mul_", lambda old: ops.multiply(old, other), copy_old=True)
    self._data *= _operand(other)
    return self

def div_(self, other, *, rounding_mode=None) -> Tensor:
    """In-place division; ``rounding_mode`` 'floor' or 'trunc' as :func:`chainrule.div`."""
    if rounding_mode is not None:
        from .pointwise import div
        if must_record(self, "div_", other):
            return rebase(self, "div_", lambda old: div(old, other, rounding_mode=rounding_mode),
                          copy_old=True)
        self._data[...] = div(self, other, rounding_mode=rounding_mode)._data
        return self
    if must_record(self, "div_", other):
        return rebase(self, "div_", lambda old: ops.divide(old, other), copy_old=True)
    self._data /= _operand(other)
    return self

def clamp_(self, min=None, max=None) -> Tensor:
    self._check_inplace("clamp_")
    np.clip(self._data, min, max, out=self._data)
    return self

def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    self._check_inplace("uniform_")
    if type(self._data) is not np.ndarray:     # a GPU tensor: drawn there, by its generator
        u = backend.random_like(self._data, "random", self.shape, self._data.dtype)
        self._data[...] = u * (b - a) + a
        return self
    self._data[...] = numpy_generator(generator, "uniform_").uniform(a, b, self.shape)
    return self

def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    self._check_inplace("normal_")
    if type(self._data) is not np.ndarray:
        z = backend.random_like(self._data, "standard_normal", self.shape, self._data.dtype)
        self._data[...] = z * std + mean
        return self
    self._data[...] = numpy_generator(generator, "normal_").normal(mean, std, self.shape)
    return self

def __setitem__(self, index, value) -> None:
    if isinstance(index, Tensor):
        index = index._data
    elif isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if must_record(self, "__setitem__", value):
        try:
            rebase(self, "__setitem__", lambda old: assign(old, value, index))
        except (ValueError, IndexError) as exc:
            raise type(exc)(f"__setitem__: {exc} (tensor shape {tuple(self.shape)})") from None
        return
    try:
        self._data[index] = _operand(value)
    except (ValueError, IndexError) as exc:
        raise type(exc)(f"__setitem__: {exc} (tensor shape {tuple(self.shape)})") from None


def _attach() -> None:
    for name in ("zero_", "fill_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_", "uniform_", "normal_", "__setitem__"):
        setattr(Tensor, name, globals()[name])


_attach()
