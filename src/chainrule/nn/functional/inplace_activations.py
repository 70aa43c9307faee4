"""``inplace=`` on the activations PyTorch gives it: relu, leaky_relu, elu, silu, hardswish.

``inplace=True`` writes the activation into ``input``'s own storage and returns ``input`` itself,
as PyTorch's does, so aliases of it see the new values. Under autograd it follows PyTorch's rule
for in-place changes (see :mod:`chainrule.api.inplace_graph`): a non-leaf's ``grad_fn`` is rebased
onto the activation, a leaf that requires grad is refused, and an op that saved the old values
refuses to backward through them. ``inplace=False`` (the default) is the out-of-place function,
with nothing added.
"""
from __future__ import annotations

from ... import ops
from ...api.inplace_more import _inplace
from ...api.pointwise import elu as _elu, leaky_relu as _leaky_relu
from ...tensor import Tensor
from . import gated as _gated

__all__ = ["relu", "leaky_relu", "elu", "silu", "hardswish"]


def _needs_tensor(op: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")


_relu_ = _inplace("relu_", ops.relu)
_leaky_relu_ = _inplace("leaky_relu_", _leaky_relu)
_elu_ = _inplace("elu_", _elu)
_silu_ = _inplace("silu_", lambda x: _gated.silu(x))
_hardswish_ = _inplace("hardswish_", lambda x: _gated.hardswish(x))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = max(0, x);  dy/dx = 1 for x > 0, else 0 (``inplace=True``: into ``input``)."""
    if inplace:
        _needs_tensor("relu", input)
        return _relu_(input)
    return ops.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """y = x for x > 0, else slope·x (``inplace=True``: into ``input``)."""
    if inplace:
        _needs_tensor("leaky_relu", input)
        return _leaky_relu_(input, negative_slope)
    return _leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x for x > 0, else α(eˣ − 1) (``inplace=True``: into ``input``)."""
    if inplace:
        _needs_tensor("elu", input)
        return _elu_(input, alpha)
    return _elu(input, alpha)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x·σ(x) (``inplace=True``: into ``input``)."""
    if inplace:
        _gated._check("silu", input)
        return _silu_(input)
    return _gated.silu(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x·min(max(x + 3, 0), 6)/6 (``inplace=True``: into ``input``)."""
    if inplace:
        _gated._check("hardswish", input)
        return _hardswish_(input)
    return _gated.hardswish(input)
