"""Attach operators and PyTorch-style methods to :class:`~chainrule.tensor.Tensor`.

Operators take a fast path when both sides are Tensors of one dtype, or the other side is a
Python number and the Tensor is floating point (a Python scalar never changes a tensor's dtype),
so ``x * 2.0`` costs one op and no promotion logic.
"""
from __future__ import annotations

import numpy as np

from .. import backend, ops
from ..ops import elementwise as E, _operands as O
from ..ops.indexing import GetItem, raw_index
from ..tensor import Tensor
from ..autograd import grad_mode
from . import pointwise as P, reductions as R, shaping as S

_NUMBER = (int, float)
_OPERAND = (Tensor, int, float, bool, np.generic, np.ndarray, list, tuple)


def _binary_method(cls, slow, reflected: bool = False):
    """``self op other`` (or ``other op self`` when reflected) with the fast paths above."""
    apply2 = cls._apply2
    if not reflected:
        def method(self, other):
            if isinstance(other, Tensor):
                od, sd = other._data.dtype, self._data.dtype
                if od is sd or od == sd:             # builtin dtypes are singletons: `is` first
                    return apply2(self, other)
            elif type(other) in _NUMBER and self._data.dtype.kind == "f":
                return apply2(self, self._data.dtype.type(other))
            elif not isinstance(other, _OPERAND) and not backend.is_array(other):
                return NotImplemented
            return slow(self, other)
    else:
        def method(self, other):
            if type(other) in _NUMBER and self._data.dtype.kind == "f":
                return apply2(self._data.dtype.type(other), self)
            if not isinstance(other, _OPERAND) and not backend.is_array(other):  # CuPy too
                return NotImplemented
            return slow(other, self)
    return method


def _unary_method(cls, slow):
    """``x.exp()`` and friends: straight to the primitive for floating tensors."""
    apply1 = cls._apply1

    def method(self):
        if self._data.dtype.kind == "f":
            return apply1(self)
        return slow(self)
    method.__name__ = slow.__name__
    method.__doc__ = slow.__doc__
    return method


def _inplace_method(name: str, out_of_place):
    """``x op= y``: in place when no graph is being recorded through either side, else rebinding
    ``x`` to the out-of-place result (so ``loss += penalty`` and ``acc -= w * 2`` just work)."""
    def method(self, other):
        if grad_mode._grad_enabled[0] and (
                self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            return out_of_place(self, other)
        getattr(self, name)(other)
        return self
    return method


def _getitem(self, index):
    return GetItem.apply(self, index=raw_index(index))


def _pow(self, exponent):
    return P.pow(self, exponent)


def _rpow(self, base):
    return P.pow(base, self)


def _softmax(self, dim=None, dtype=None):
    from ..nn.functional.activation import softmax  # the fused primitive lives with nn
    return softmax(self, dim, dtype=dtype)


def _log_softmax(self, dim=None, dtype=None):
    from ..nn.functional.activation import log_softmax
    return log_softmax(self, dim, dtype=dtype)


def _mT(self):
    """The last two dims swapped (a batch of matrices transposed)."""
    if self.ndim == 0:  # PyTorch's (deprecated) identity
        return ops.reshape(self, ())
    if self.ndim == 1:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices, "
                           "got a 1-D tensor")
    return ops.swapaxes(self, -1, -2)


def _matmul(self, other):
    return ops.matmul(self, other)


def _rmatmul(self, other):
    return ops.matmul(other, self)


def _attach() -> None:
    T = Tensor
    T.__add__ = _binary_method(E.Add, ops.add)
    T.__radd__ = _binary_method(E.Add, ops.add, reflected=True)
    T.__sub__ = _binary_method(E.Sub, ops.subtract)
    T.__rsub__ = _binary_method(E.Sub, ops.subtract, reflected=True)
    T.__mul__ = _binary_method(E.Mul, ops.multiply)
    T.__rmul__ = _binary_method(E.Mul, ops.multiply, reflected=True)
    T.__truediv__ = lambda self, other: ops.divide(self, other)
    T.__rtruediv__ = lambda self, other: ops.divide(other, self)
    T.__neg__ = lambda self: E.Neg.apply(self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: ops.absolute(self)
    T.__pow__ = _pow
    T.__rpow__ = _rpow
    T.__matmul__ = _matmul
    T.__rmatmul__ = _rmatmul
    T.__getitem__ = _getitem
    T.__eq__ = P.eq
    T.__ne__ = P.ne
    T.__lt__ = P.lt
    T.__le__ = P.le
    T.__gt__ = P.gt
    T.__ge__ = P.ge
    T.__and__ = P.logical_and
    T.__or__ = P.logical_or
    T.__invert__ = P.logical_not
    T.__iadd__ = _inplace_method("add_", T.__add__)
    T.__isub__ = _inplace_method("sub_", T.__sub__)
    T.__imul__ = _inplace_method("mul_", T.__mul__)
    T.__itruediv__ = _inplace_method("div_", T.__truediv__)

    # pointwise
    for name in ("add", "sub", "mul", "div", "neg", "exp", "log", "log1p", "sqrt", "rsqrt",
                 "square", "abs", "sign", "clamp", "clip", "sin", "cos", "tanh", "sigmoid",
                 "relu", "leaky_relu", "elu", "gelu", "softplus", "step", "erf", "maximum",
                 "minimum", "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite",
                 "logical_and", "logical_or", "logical_not"):
        setattr(T, name, getattr(P, name))
    for name, cls in (("exp", E.Exp), ("log", E.Log), ("sqrt", E.Sqrt), ("tanh", E.Tanh),
                      ("sigmoid", E.Sigmoid), ("sin", E.Sin), ("cos", E.Cos), ("relu", E.Relu),
                      ("log1p", E.Log1p)):
        setattr(T, name, _unary_method(cls, getattr(P, name)))
    T.softmax = _softmax
    T.log_softmax = _log_softmax
    T.pow = _pow
    T.subtract, T.multiply, T.divide, T.negative = T.sub, T.mul, T.div, T.neg
    # reductions
    for name in ("sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "prod",
                 "argmax", "argmin", "all", "any"):
        setattr(T, name, getattr(R, name))
    # shapes and linear algebra
    T.reshape = S.reshape
    T.view = S.reshape
    T.flatten = S.flatten
    T.unflatten = S.unflatten
    T.permute = S.permute
    T.transpose = S.transpose
    T.t = S.t
    T.squeeze = S.squeeze
    T.unsqueeze = S.unsqueeze
    T.expand = S.expand
    T.expand_as = lambda self, other: S.expand(self, other.shape)
    T.broadcast_to = S.broadcast_to
    T.split = S.split
    T.chunk = S.chunk
    T.matmul = S.matmul
    T.mm = S.mm
    T.movedim = S.movedim
    T.view_as = lambda self, other: S.reshape(self, other.shape)
    T.T = property(lambda self: self if self.ndim < 2 else ops.transpose(self))
    T.mT = property(_mT)
    T.clone = lambda self: E.Clone.apply(self)
    T.astype = lambda self, dtype: E.cast(self, np.dtype(dtype))  # NumPy's name, used by backward
    T.where = lambda self, condition, other: ops.where(condition, self, other)
    # indexing and more shape/math ops (issue #3)
    from . import indexing as I, math as M
    for name in ("gather", "scatter_add", "index_select", "masked_fill", "take_along_dim"):
        setattr(T, name, getattr(I, name))
    for name in ("repeat", "roll", "cumsum", "topk", "sort", "argsort"):
        setattr(T, name, getattr(M, name))
    from . import slicing as L
    for name in ("narrow", "select", "unbind", "repeat_interleave"):
        setattr(T, name, getattr(L, name))
    T.norm = M._norm_method
    T.tile = M._tile_method
    T.flip = M._flip_method


_attach()
