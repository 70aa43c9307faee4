"""In-place changes recorded in the graph (PyTorch's rule): ``y.add_(b)``, ``y.mul_(b)``,
``y.copy_(s)``, ``y.fill_(v)``, ``y.zero_()``, ``y[i] = v`` on a tensor that is part of a graph
(a non-leaf), or that receives a value that requires grad.

The new value is computed out of place from a stand-in for the old one (a Tensor holding the
old values and the old ``grad_fn``), written into the tensor's storage, and the tensor's
``grad_fn`` is *rebased* onto the op that computed it. The rebased node remembers the node it
replaced (``_replaced``); consumers recorded before the change still reach the old node, because
the engine follows ``_replaced`` back while a parent is newer than its consumer (a test it makes
only once some rebase has happened). Version counters are bumped as for any in-place change, so
an op that saved the old values for backward still refuses to use them.

Not recorded (a clear error instead): in-place changes to a tensor that shares storage with a
view or a ``detach()`` of it, whose other aliases would silently keep a stale graph.
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor, _rebased


def must_record(self: Tensor, op: str, *others) -> bool:
    """True when this in-place change is to be recorded; raise for a leaf that requires grad
    (as PyTorch) or an aliased tensor (see module docstring); otherwise stamp the version."""
    if grad_mode._grad_enabled[0] and (self.requires_grad or any(
            isinstance(o, Tensor) and o.requires_grad for o in others)):
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad cannot be modified in place while "
                "gradients are recorded; do it inside `with chainrule.no_grad():`")
        if self._vcell is not None:
            raise RuntimeError(
                f"{op}: this tensor shares its storage with a view or a detach() of it, and an "
                "in-place change to it cannot be recorded for all of them; use the out-of-place "
                "form (x = x + y) or clone() it first")
        return True
    self._bump_version()
    return False


def rebase(self: Tensor, op: str, compute, copy_old: bool = False) -> Tensor:
    """Write ``compute(old)`` into ``self`` and make its node ``self``'s grad_fn."""
    old_data = self._data.copy() if copy_old else self._data
    old = Tensor._wrap(old_data, self.requires_grad, self.grad_fn)
    result = compute(old)
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"{op}: the result has shape {tuple(result._data.shape)}, which "
                           f"cannot be written into a tensor of shape {tuple(self._data.shape)}")
    if result._data.dtype != self._data.dtype:
        from ..ops.elementwise import cast
        if not np.can_cast(result._data.dtype, self._data.dtype, "same_kind"):
            raise RuntimeError(f"{op}: result dtype {np.dtype(result._data.dtype).name} cannot be written into "
                               f"a tensor of dtype {np.dtype(self._data.dtype).name}")
        result = cast(result, self._data.dtype)
    self._data[...] = result._data
    self._bump_version()
    node = result.grad_fn
    if node is None:                  # nothing needs a gradient after all
        return self
    node._replaced = self.grad_fn
    self.grad_fn = node
    self.requires_grad = True
    _rebased[0] += 1
    return self


class Assign(Function):
    """z = x with z[index] = v;  ∂L/∂x = ∂L/∂z with zeros at index, ∂L/∂v = (∂L/∂z)[index]."""

    name = "copyslices"

    def forward(self, xp, x, v, index=Ellipsis):
        out = x.copy()
        out[index] = v
        keep = xp.ones(x.shape, dtype=x.dtype)
        keep[index] = 0
        self.keep, self.index = keep, index
        self.save(keep)
        return out

    def backward(self, xp, g):
        return g * self.keep, g[self.index]


def assign(old: Tensor, value, index=Ellipsis) -> Tensor:
    return Assign.apply(old, value, index=index)
