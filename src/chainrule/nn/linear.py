"""Linear (y = x·Wᵀ + b) and Identity layers."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor
from . import functional as F, init
from . import placement
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity", "empty_parameter"]


def empty_parameter(shape: tuple, dtype=None) -> Parameter:
    """A zero-filled Parameter of ``shape`` in ``dtype`` (the default float dtype if None), to be
    filled by an initialiser."""
    dt = backend.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
    return Parameter(np.zeros(shape, dtype=dt))


def init_fan_in_uniform(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default for Linear and Conv: W ~ kaiming_uniform_(a=√5), which is
    U(−1/√fan_in, 1/√fan_in), and b ~ U(−1/√fan_in, 1/√fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x·Wᵀ + b with W of shape (out_features, in_features) (PyTorch's layout);
    input (…, in_features) → output (…, out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = empty_parameter((out_features, in_features), dtype)
        if bias:
            self.bias = empty_parameter((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        placement.place_new(self, device)

    def reset_parameters(self) -> None:
        init_fan_in_uniform(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """y = x (accepts and ignores any constructor arguments, as PyTorch's does)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input
