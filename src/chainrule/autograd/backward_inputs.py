"""``Tensor.backward(inputs=...)``: accumulate into the ``.grad`` of the given tensors only.

PyTorch's rule: the gradient of ``root`` with respect to each tensor of ``inputs`` (leaves or
not) is added to that tensor's ``.grad``; no other tensor's ``.grad`` changes. Computed with
:func:`chainrule.autograd.grad` (which never touches ``.grad``), then accumulated here with the
engine's rules: a first gradient is stored, later ones are added in place; under
``create_graph=True`` the sum stays differentiable. Post-accumulate hooks of leaves among
``inputs`` run after their ``.grad`` is updated.
"""
from __future__ import annotations

from typing import Sequence

__all__ = ["backward_into"]


def backward_into(root, gradient, inputs, retain_graph: bool | None,
                  create_graph: bool) -> None:
    """Add d(root)/d(t) · gradient to ``t.grad`` for each tensor ``t`` in ``inputs``."""
    from ..tensor import Tensor
    from . import engine

    targets: Sequence = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not targets:
        raise RuntimeError("backward: the 'inputs' argument cannot be empty (pass None to "
                           "accumulate into every leaf)")
    for i, t in enumerate(targets):
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: inputs[{i}] must be a Tensor, not {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"backward: inputs[{i}] (shape {tuple(t.shape)}) does not require "
                               "grad, so it has no gradient to accumulate")
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn "
                           "(was it computed under no_grad, or from tensors that do not "
                           "require grad?)")
    unique = list({id(t): t for t in targets}.values())
    grads = engine.grad(root, unique, grad_outputs=gradient, retain_graph=retain_graph,
                        create_graph=create_graph, allow_unused=True)
    for t, g in zip(unique, grads):
        if g is None:
            continue
        _accumulate(t, g, create_graph)
        if t.grad_fn is None and t._hooks is not None:
            for hook in tuple(t._hooks.post):
                hook(t)


def _accumulate(t, g, create_graph: bool) -> None:
    from ..tensor import Tensor
    grad = t.grad
    if create_graph:
        t.grad = g if grad is None else grad + g
    elif grad is None:
        data = g._data if g._data.dtype == t._data.dtype else g._data.astype(t._data.dtype)
        t.grad = Tensor._wrap(data, False, None)
    elif grad.requires_grad:
        t.grad = Tensor._wrap(grad._data + g._data, False, None)
    else:
        grad._data += g._data
