"""Parameter: a Tensor that a Module registers as learnable when it is assigned as an attribute."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["Parameter"]


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
