"""What each edge of a trace carries: δ_out · ∂out/∂input, computed by the op's own backward.

The δ's of the nodes come from the recording (the engine's own numbers). What a trace adds is
the split of each δ into the contributions arriving along each edge, and, for elementwise ops,
the local derivative's value. Both come from calling the op's ``backward`` — the one copy of its
derivative — on a node whose saved values are intact:

* the recorded node itself while its graph is alive (before backward, or after
  ``retain_graph=True``); calling ``backward`` reads its saved arrays and changes nothing;
* otherwise a *replay*: a fresh instance of the same op class whose ``forward`` runs again on
  the recorded inputs and parameters, which saves exactly what the original saved (ops are
  deterministic: randomness such as dropout's mask is drawn outside them and recorded as an
  input). The user's graph is never touched.

Local derivative values are shown where a value can stand for the derivative: for elementwise
ops, ∂z/∂x at each element is ``backward(1)``; for any op whose input and output are single
numbers, likewise. For the rest (matmul, reductions, softmax) the local derivative is a Jacobian,
which a trace describes by its formula and never materialises; the edge then carries only the
vector–Jacobian product.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.engine import unbroadcast
from ..tensor import Tensor

__all__ = ["backward_node", "edge_values", "input_gradients", "is_elementwise"]

_ELEMENTWISE_MODULES = ("chainrule.ops.unary", "chainrule.ops.elementwise")


def is_elementwise(node: Any) -> bool:
    """True for ops applied element by element (with broadcasting)."""
    return type(node).__module__ in _ELEMENTWISE_MODULES


def _arrays(entry) -> list:
    return [x._data if isinstance(x, Tensor) else x for x in entry.inputs]


def _needs(entry) -> tuple[bool, ...]:
    return tuple(isinstance(x, Tensor) and x.requires_grad for x in entry.inputs)


def backward_node(entry) -> Any:
    """A node of ``entry``'s op whose ``backward`` can run: the recorded one while its saved
    values are alive, else a replay of its forward on the recorded inputs and parameters."""
    node = entry.node
    if getattr(node, "saved", None) is not None and getattr(node, "inputs", None) is not None \
            and getattr(node, "needs_input_grad", None) is not None:
        return node
    fresh = object.__new__(type(node))
    fresh.saved = ()
    arrays = _arrays(entry)
    fresh.forward(backend.get_array_module(*[a for a in arrays if backend.is_array(a)]),
                  *arrays, **entry.params)
    fresh.needs_input_grad = _needs(entry)
    return fresh


def _run_backward(node, g) -> tuple:
    xp = backend.get_array_module(g)
    grads = node.backward(xp, g)
    return tuple(grads) if grads is not None else ()


def _products(entry, node, delta, needs) -> list:
    xp = backend.get_array_module(delta)
    grads = _run_backward(node, delta)
    products: list = [None] * len(entry.inputs)
    for i, (need, g) in enumerate(zip(needs, grads)):
        if need and g is not None:
            shape = entry.inputs[i]._data.shape
            products[i] = g if g.shape == shape else unbroadcast(xp, g, shape)
    return products


def input_gradients(entry, delta) -> list:
    """The gradient ``entry``'s op sends back to each input from ``delta`` (δ of its output),
    summed to the input's shape; None where no gradient flows."""
    needs = _needs(entry)
    if delta is None or not any(needs):
        return [None] * len(entry.inputs)
    return _products(entry, backward_node(entry), delta, needs)


def edge_values(entry, delta) -> tuple[list, list]:
    """``(products, locals)`` per input of ``entry``: the gradient sent back to each input
    (summed to its shape; None where no gradient flows) and the local derivative's value
    (None where it is a Jacobian, see the module docstring)."""
    n = len(entry.inputs)
    products: list = [None] * n
    locals_: list = [None] * n
    needs = _needs(entry)
    if delta is None or not any(needs):
        return products, locals_
    node = backward_node(entry)
    xp = backend.get_array_module(delta)
    products = _products(entry, node, delta, needs)
    out = entry.output._data
    scalars = out.size == 1
    if is_elementwise(entry.node) or scalars:
        ones = xp.ones_like(out)
        unit = _run_backward(node, ones)
        for i, (need, g) in enumerate(zip(needs, unit)):
            if not need or g is None:
                continue
            if is_elementwise(entry.node) or entry.inputs[i]._data.size == 1:
                locals_[i] = g
    return products, locals_

