"""Parameter: a Tensor that a Module registers as learnable when it is assigned as an attribute;
UninitializedParameter/UninitializedBuffer: the placeholders of lazy modules (shape not yet known).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer",
           "UninitializedTensorMixin", "UninitializedError", "is_lazy"]


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` (by default) that modules collect in
    ``parameters()`` and ``state_dict()``. ``Parameter(t)`` shares ``t``'s data, as in PyTorch."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=backend.get_default_dtype())
        elif isinstance(data, Tensor):
            data = data._data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(self._data.copy(), requires_grad=self.requires_grad)
        if self.grad is not None:
            p.grad = Tensor._wrap(self.grad._data.copy(), False, None)
        memo[id(self)] = p
        return p


class UninitializedError(ValueError, RuntimeError):
    """A lazy module's parameter or buffer was used before its shape was known."""


def _uninitialized_message(what: str) -> str:
    return (f"Attempted to use an uninitialized parameter or buffer in {what}. It belongs to a "
            "lazy module (nn.LazyLinear, nn.LazyConv2d, ...) whose shapes are inferred at the "
            "first forward: call the module once on a batch (or load a state_dict into it) "
            "before using its parameters")


class UninitializedArray:
    """Stands in for the array of an uninitialized tensor: it knows its dtype, and any other use
    (its shape, NumPy functions, arithmetic, indexing, conversion) raises UninitializedError."""

    __slots__ = ("dtype", "target")

    def __init__(self, dtype, target=None) -> None:
        self.dtype = np.dtype(dtype)
        self.target = target        # the device a Module.to/cuda/cpu asked for (None: the CPU)

    def astype(self, dtype, copy: bool = True) -> "UninitializedArray":
        return UninitializedArray(dtype, self.target)

    def _refuse(self, *args, **kwargs):
        raise UninitializedError(_uninitialized_message("an array operation"))

    __array__ = __array_ufunc__ = __array_function__ = __getitem__ = __setitem__ = _refuse
    __iter__ = __len__ = __bool__ = __float__ = __int__ = __index__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = _refuse
    __rmatmul__ = __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _refuse
    __iadd__ = __isub__ = __imul__ = __itruediv__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __getattr__(self, name: str):
        raise UninitializedError(_uninitialized_message(f"array.{name}"))

    def __repr__(self) -> str:
        return f"<unmaterialized {np.dtype(self.dtype).name}>"


# What an uninitialized tensor still answers: its bookkeeping (for modules, optimizers and
# state dicts) and the ways out (materialize, casting its dtype). Everything else raises.
_ALLOWED = frozenset({
    "_data", "grad", "requires_grad", "grad_fn", "_version", "_vcell", "_hooks",
    "_retains_grad", "dtype", "device", "is_leaf", "requires_grad_", "detach", "materialize",
    "cls_to_become", "_bump_version", "_shared_version_cell",
})


class UninitializedTensorMixin:
    """A tensor with a dtype but no shape yet; :meth:`materialize` gives it one (zeros) and turns
    it into ``cls_to_become`` in place, so whoever holds it (an optimizer) keeps the same object.
    Reading its shape or using it in math raises :class:`UninitializedError`."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def __getattribute__(self, name: str):
        if name in _ALLOWED or (name[:2] == "__" and name[-2:] == "__"):
            return object.__getattribute__(self, name)
        if name == "shape":
            raise UninitializedError(
                "Can't access the shape of an uninitialized parameter or buffer (a lazy "
                "module's, before its first forward or load_state_dict)")
        raise UninitializedError(_uninitialized_message(f"{type(self).__name__}.{name}"))

    def materialize(self, shape: tuple, dtype=None) -> None:
        """Give the tensor ``shape`` (zero-filled, in its dtype unless ``dtype``) and make it an
        ordinary ``cls_to_become`` (Parameter or Tensor) in place."""
        dt = self._data.dtype if dtype is None else dtypes.to_dtype(dtype)
        target = getattr(self._data, "target", None)
        data = np.zeros(tuple(int(s) for s in shape), dtype=dt)
        if target is not None:          # a Module.to('cuda') before the first forward
            from .. import devices
            data = devices.move_array(data, target, "materialize")
        self._data = data
        self.__class__ = self.cls_to_become

    @property
    def device(self):
        from .. import devices
        target = getattr(self._data, "target", None)
        return devices.CPU if target is None else target

    def detach(self):
        """Itself: an uninitialized tensor has no values to share (state_dict lists it as is)."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo: dict):
        if id(self) not in memo:
            memo[id(self)] = type(self)(requires_grad=self.requires_grad, dtype=self.dtype)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        raise UninitializedError(_uninitialized_message("pickling"))


def _dtype_or_default(dtype):
    return backend.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape a lazy module infers at its first forward (PyTorch's
    ``nn.UninitializedParameter``); it becomes a :class:`Parameter` when materialized."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        Tensor.__init__(self, np.empty(0, _dtype_or_default(dtype)), requires_grad=requires_grad)
        self._data = UninitializedArray(_dtype_or_default(dtype))


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module infers at its first forward (PyTorch's
    ``nn.UninitializedBuffer``); it becomes a plain Tensor when materialized."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        Tensor.__init__(self, np.empty(0, _dtype_or_default(dtype)), requires_grad=requires_grad)
        self._data = UninitializedArray(_dtype_or_default(dtype))


def is_lazy(obj) -> bool:
    """True for an UninitializedParameter or UninitializedBuffer (not yet materialized)."""
    return isinstance(obj, UninitializedTensorMixin)
