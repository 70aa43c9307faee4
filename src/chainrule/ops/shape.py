"""Shape primitives: reshape, transpose, broadcast_to, concatenate (and compositions of them).

None of these change values, so each backward only moves the gradient back into place: reshape
it, transpose it by the inverse permutation, sum it over broadcast axes (done by the engine), or
slice it apart.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from . import _operands as O


class Reshape(Function):
    """z = x viewed with a new shape;  ∂L/∂x = ∂L/∂z reshaped back to x's shape."""
    view = True

    def forward(self, xp, x, shape=None):
        self.in_shape = x.shape
        return xp.reshape(x, shape)

    def explain_error(self, arrays, params, exc):
        x = arrays[0]
        return (f"reshape: cannot view a tensor of shape {tuple(x.shape)} ({x.size} elements) "
                f"as shape {tuple(np.atleast_1d(params['shape']).tolist())}")

    def backward(self, xp, g):
        return (xp.reshape(g, self.in_shape),)


class Transpose(Function):
    """z = xᵀ, x with its axes permuted (reversed by default);  ∂L/∂x = ∂L/∂z permuted back.

    "Back" is the inverse permutation, which for the default (reversed axes) is itself."""
    view = True

    def forward(self, xp, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} dimensions of shape {tuple(x.shape)}")
        self.inverse = tuple(np.argsort(axes))
        return xp.transpose(x, axes)

    def backward(self, xp, g):
        return (xp.transpose(g, self.inverse),)


class BroadcastTo(Function):
    """z = x repeated along broadcast axes;  ∂L/∂x = ∂L/∂z summed back to x's shape (by the
    engine)."""
    view = True

    def forward(self, xp, x, shape=None):
        return xp.broadcast_to(x, shape)

    def backward(self, xp, g):
        return (g,)


class Concatenate(Function):
    """z = [x₁, x₂, …] joined along an axis;  ∂L/∂xᵢ = xᵢ's slice of ∂L/∂z."""

    def forward(self, xp, *xs, axis=0):
        # PyTorch's legacy rule: 1-d empty tensors (shape (0,)) are skipped, whatever the others'
        # shapes; they get an empty gradient
        self.joined = joined = [not _legacy_empty(x) for x in xs]
        if not any(joined):
            self.joined = joined = [True] * len(xs)
        parts = [x for x, j in zip(xs, joined) if j]
        axis = axis % parts[0].ndim if parts[0].ndim else axis
        self.axis = axis
        self.bounds = np.cumsum([0] + [x.shape[axis] for x in parts]).tolist()
        return xp.concatenate(parts, axis=axis)

    def explain_error(self, arrays, params, exc):
        shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
        return f"cat: tensors of shapes {shapes} cannot be joined along dim {params.get('axis', 0)}"

    def backward(self, xp, g):
        lead = (slice(None),) * self.axis
        slices = iter(zip(self.bounds, self.bounds[1:]))
        grads = []
        for joined, need in zip(self.joined, self.needs_input_grad):
            a, b = next(slices) if joined else (0, 0)
            if not need:
                grads.append(None)
            else:
                grads.append(g[lead + (slice(a, b),)] if joined else xp.reshape(g, (-1,))[:0])
        return tuple(grads)


def _legacy_empty(x) -> bool:
    return x.ndim == 1 and x.shape[0] == 0


def _as_tensor_or_array(x):
    return x if isinstance(x, Tensor) else O.constant(x)


def reshape(x, shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return Reshape.apply(_as_tensor_or_array(x), shape=shape)


def transpose(x, axes=None):
    return Transpose.apply(_as_tensor_or_array(x), axes=axes)


def swapaxes(x, a: int, b: int):
    n = x.ndim
    axes = list(range(n))
    axes[a % n], axes[b % n] = axes[b % n], axes[a % n]
    return transpose(x, tuple(axes))


def broadcast_to(x, shape):
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return BroadcastTo.apply(_as_tensor_or_array(x), shape=shape)


def expand_dims(x, axis: int):
    shape = list(x.shape)
    axis = axis % (len(shape) + 1)
    shape.insert(axis, 1)
    return reshape(x, shape)


def squeeze(x, axis=None):
    shape = x.shape
    if axis is None:
        new = [n for n in shape if n != 1]
    else:
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        new = [n for i, n in enumerate(shape) if not (i in axes and n == 1)]
    return reshape(x, new)


def concatenate(xs, axis: int = 0):
    xs = list(xs)
    if not xs:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    dt = xs[0].dtype
    for x in xs[1:]:
        dt = np.result_type(dt, x.dtype) if x.dtype != dt else dt
    return Concatenate.apply(*[O.operand(x, dt) for x in xs], axis=axis)


def stack(xs, axis: int = 0):
    xs = list(xs)
    if not xs:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)
