"""In-place updates of a tensor's values (``zero_``, ``fill_``, ``copy_``, ``add_``, ...,
``t[i] = v``): for parameters, initialisers and buffers. They are not recorded by autograd, so
each first checks the tensor is not part of a graph being recorded, then stamps its version (and
its views'), which is how backward notices a saved value that changed."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def _operand(value):
    return value._data if isinstance(value, Tensor) else value

def zero_(self) -> Tensor:
    self._check_inplace("zero_")
    self._data[...] = 0
    return self

def fill_(self, value) -> Tensor:
    self._check_inplace("fill_")
    self._data[...] = _operand(value)
    return self

def copy_(self, src) -> Tensor:
    self._check_inplace("copy_")
    src = _operand(src)
    try:
        self._data[...] = src
    except ValueError:
        raise ValueError(f"copy_: cannot copy a source of shape {np.shape(src)} into a tensor "
                         f"of shape {self.shape}") from None
    return self

def add_(self, other, alpha=1) -> Tensor:
    self._check_inplace("add_")
    other = _operand(other)
    self._data += other if alpha == 1 else alpha * other
    return self

def sub_(self, other, alpha=1) -> Tensor:
    self._check_inplace("sub_")
    other = _operand(other)
    self._data -= other if alpha == 1 else alpha * other
    return self

def mul_(self, other) -> Tensor:
    self._check_inplace("mul_")
    self._data *= _operand(other)
    return self

def div_(self, other) -> Tensor:
    self._check_inplace("div_")
    self._data /= _operand(other)
    return self

def clamp_(self, min=None, max=None) -> Tensor:
    self._check_inplace("clamp_")
    np.clip(self._data, min, max, out=self._data)
    return self

def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
    self._check_inplace("uniform_")
    if type(self._data) is not np.ndarray:     # a GPU tensor: drawn there, by its generator
        u = backend.random_like(self._data, "random", self.shape, self._data.dtype)
        self._data[...] = u * (b - a) + a
        return self
    self._data[...] = backend.default_generator().uniform(a, b, self.shape)
    return self

def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
    self._check_inplace("normal_")
    if type(self._data) is not np.ndarray:
        z = backend.random_like(self._data, "standard_normal", self.shape, self._data.dtype)
        self._data[...] = z * std + mean
        return self
    self._data[...] = backend.default_generator().normal(mean, std, self.shape)
    return self

def __setitem__(self, index, value) -> None:
    self._check_inplace("__setitem__")
    if isinstance(index, Tensor):
        index = index._data
    elif isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    try:
        self._data[index] = _operand(value)
    except (ValueError, IndexError) as exc:
        raise type(exc)(f"__setitem__: {exc} (tensor shape {self.shape})") from None


def _attach() -> None:
    for name in ("zero_", "fill_", "copy_", "add_", "sub_", "mul_", "div_", "clamp_", "uniform_", "normal_", "__setitem__"):
        setattr(Tensor, name, globals()[name])


_attach()
