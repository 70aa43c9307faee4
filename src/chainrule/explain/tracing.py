"""``cr.explain.trace(output)``: the graph that produced a tensor, with every node's value and
δ = ∂L/∂node, and every edge's local derivative and the product it sends back.

    >>> x = cr.tensor(3.0, requires_grad=True); y = cr.tensor(4.0, requires_grad=True)
    >>> with cr.autograd.record():
    ...     f = x**2 * y + y + 2
    ...     t = cr.explain.trace(f, names={"x": x, "y": y})
    >>> print(t)              # the forward pass, then the backward pass, in the notes' notation
    >>> t["x"].delta          # 24 = ∂f/∂x
    >>> t.save("graph.svg")   # the graph drawn left to right (in Jupyter, ``t`` shows it)

The chain rule a trace shows: δ_output = 1 (or the ``gradient=`` given), and for every other
node u, δ_u = Σ over the edges u → v of δ_v·∂v/∂u — one term per path out of u, so a node
reached on several paths shows the sum. δ's are the engine's (see :mod:`.graph`); each edge's
share is computed by the op's own backward (see :mod:`.replay`); each formula is the op's
docstring (see :mod:`.formulas`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..tensor import Tensor
from . import formulas as F
from .graph import (check_leaves_unchanged, check_unchanged, ensure_deltas, find_recording,
                    subgraph)
from .naming import Namer, given_names, name_ops
from .replay import edge_values, is_elementwise

__all__ = ["trace", "Trace", "TraceNode", "TraceEdge"]


def _host(a: Any, copy: bool = False) -> np.ndarray | None:
    """The array as NumPy (CuPy arrays are copied to the host); ``copy`` also copies a NumPy
    array, so that a later in-place change of a tensor does not change the trace."""
    if a is None:
        return None
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        return a.get()
    return np.array(a, copy=True) if copy else np.asarray(a)


@dataclass(eq=False)
class TraceNode:
    """One node: a leaf (an input or parameter), a constant, or an op's output."""

    index: int                          #: position in topological order
    name: str                           #: ``x``, ``net2``, ``z1``, ``f``, ``2``
    kind: str                           #: ``"leaf"``, ``"constant"`` or ``"op"``
    value: np.ndarray                   #: the forward value
    delta: np.ndarray | None = None     #: δ = ∂L/∂node (None where no gradient reaches it)
    op: str | None = None               #: the op's name (``mul``) for op nodes
    expression: str = ""                #: ``z2 = z1·y`` for op nodes
    formula: F.OpFormula | None = field(default=None, repr=False)  #: the op's docstring math
    requires_grad: bool = False
    inputs: tuple[int, ...] = ()        #: indices of the nodes the op read, in input order

    @property
    def is_scalar(self) -> bool:
        return self.value.size == 1


@dataclass(eq=False)
class TraceEdge:
    """Input ``source`` of the op that made ``target``: the local derivative ∂target/∂source
    (its formula; its value where that is elementwise) and the product δ_target·∂target/∂source
    it sends back to ``source`` (summed to ``source``'s shape)."""

    source: TraceNode = field(repr=False)
    target: TraceNode = field(repr=False)
    position: int                       #: which input of the op
    derivative: str | None = None       #: ``z1`` for ∂(z1·y)/∂y; a VJP formula for matmul
    local: np.ndarray | None = None     #: the local derivative's value (None: a Jacobian)
    product: np.ndarray | None = None   #: δ_target·∂target/∂source, what reaches source
    vjp: bool = False                   #: ``derivative`` already includes δ_target

    def __repr__(self) -> str:
        return f"TraceEdge({self.source.name} → {self.target.name}, {self.derivative!r})"


class Trace:
    """The traced graph: ``nodes`` in topological order, ``edges`` from each input to the op
    that read it. ``str(trace)`` is the two passes as text; ``to_svg()``/``save()`` draw it."""

    def __init__(self, nodes: list[TraceNode], edges: list[TraceEdge], output: TraceNode,
                 tensors: dict[int, TraceNode]) -> None:
        self.nodes = nodes
        self.edges = edges
        self.output = output
        self._by_tensor = tensors
        self._by_name: dict[str, TraceNode] = {}
        for n in nodes:
            self._by_name.setdefault(n.name, n)
        self._into: dict[int, list[TraceEdge]] = {n.index: [] for n in nodes}
        self._out_of: dict[int, list[TraceEdge]] = {n.index: [] for n in nodes}
        for e in edges:
            self._into[e.target.index].append(e)
            self._out_of[e.source.index].append(e)

    # -- looking things up -----------------------------------------------------------------------
    def __getitem__(self, name: str) -> TraceNode:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"trace: no node named {name!r}; nodes: "
                           f"{', '.join(n.name for n in self.nodes)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[TraceNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def of(self, tensor: Any) -> TraceNode:
        """The node of a Tensor that is part of the trace."""
        node = self._by_tensor.get(id(tensor))
        if node is None:
            raise KeyError("trace: that tensor is not part of this trace")
        return node

    def inputs_of(self, node: TraceNode | str) -> list[TraceEdge]:
        """The edges into ``node`` (its op's inputs), in input order."""
        node = self[node] if isinstance(node, str) else node
        return sorted(self._into[node.index], key=lambda e: e.position)

    def consumers_of(self, node: TraceNode | str) -> list[TraceEdge]:
        """The edges out of ``node``: one per use, each a term of δ_node."""
        node = self[node] if isinstance(node, str) else node
        return list(self._out_of[node.index])

    @property
    def leaves(self) -> list[TraceNode]:
        return [n for n in self.nodes if n.kind == "leaf"]

    # -- renderings ------------------------------------------------------------------------------
    def __str__(self) -> str:
        from .render_text import render
        return render(self)

    def __repr__(self) -> str:
        return (f"<Trace of {self.output.name}: {sum(n.kind == 'op' for n in self.nodes)} ops, "
                f"{len(self.leaves)} leaves>")

    def to_svg(self, engine: str = "auto") -> str:
        """The graph as SVG text, drawn left to right: each node's value and δ, each edge's
        local derivative and the δ it sends back (``engine``: ``"graphviz"``,
        ``"matplotlib"``, or ``"auto"``: Graphviz where its ``dot`` program exists)."""
        from .render_svg import render
        return render(self, "svg", engine).decode("utf-8")

    def save(self, path: Any, engine: str = "auto") -> None:
        """Write the drawing to ``path`` (``.svg`` or ``.png``), atomically."""
        from .render_svg import save
        save(self, path, engine)

    def _repr_svg_(self) -> str:
        return self.to_svg()


def trace(output: Tensor, names: Any = None, *, recording: Any = None,
          gradient: Any = None) -> Trace:
    """Trace the graph that produced ``output`` (see the module docstring).

    ``names`` names leaves (or any node): ``{'x': x, 'w3': w3}``, or a Module (its parameter
    names). ``recording`` is the ``cr.autograd.record()`` to read when it is no longer active.
    ``gradient`` is δ of a non-scalar output. Runs a backward itself (``cr.autograd.grad``,
    leaving ``.grad`` and the recording's δ's untouched) when no recorded backward reached
    ``output``."""
    rec, _ = find_recording(output, recording)
    ops, sources = subgraph(rec, output)
    check_unchanged(ops)
    check_leaves_unchanged(rec, sources)
    deltas = ensure_deltas(rec, output, ops, sources, gradient)
    namer = Namer(given_names(names))
    nodes: list[TraceNode] = []
    by_tensor: dict[int, TraceNode] = {}

    def add(name: str, kind: str, value: Any, source: Any, **kw) -> TraceNode:
        node = TraceNode(len(nodes), name, kind, _host(getattr(value, "_data", value), True),
                         **kw)
        nodes.append(node)
        by_tensor[id(source)] = node
        return node

    for s in sources:                                 # leaves first, in order of first use
        if isinstance(s, Tensor):
            name = namer.given.get(id(s)) or namer.fresh("x")
            add(name, "leaf", s, s, requires_grad=s.requires_grad,
                delta=_host(deltas.delta(s)) if s.grad_fn is None else None)
    output_op = rec.producer(output)
    op_names = name_ops(ops, output_op, rec.producer, namer)
    edges: list[TraceEdge] = []
    for entry in ops:
        for x in entry.inputs:                        # constants just before their first use
            if id(x) not in by_tensor:
                add(namer.constant(x), "constant", x, x)
        formula = F.formula_of(entry.node)
        in_names = [by_tensor[id(x)].name for x in entry.inputs]
        name = op_names[id(entry)]
        out = entry.output
        node = add(name, "op", out, out, op=entry.op, formula=formula,
                   requires_grad=out.requires_grad, delta=_host(deltas.delta(out)),
                   expression=F.forward_display(formula, name, in_names, entry.params),
                   inputs=tuple(by_tensor[id(x)].index for x in entry.inputs))
        edges.extend(_edges(entry, node, by_tensor, in_names, formula))
    _fill_source_deltas(nodes, edges)
    return Trace(nodes, edges, by_tensor[id(output)], by_tensor)


def _edges(entry, node: TraceNode, by_tensor: dict, in_names: list[str],
           formula: F.OpFormula) -> list[TraceEdge]:
    is_tensor = [isinstance(x, Tensor) for x in entry.inputs]
    products, locals_ = edge_values(entry, node.delta)
    found = []
    for i, x in enumerate(entry.inputs):
        if not (is_tensor[i] and x.requires_grad):
            continue
        text = F.derivative_display(formula, i, node.name, in_names, is_tensor, entry.params)
        vjp = formula.is_vjp
        if not formula.pieces:              # a rule in words ("the gradient goes to …")
            text, vjp = (None, False) if is_elementwise(entry.node) else \
                (f"{entry.op}ᵀ(δ_{node.name})", True)
        found.append(TraceEdge(by_tensor[id(x)], node, i, text, _host(locals_[i]),
                               _host(products[i]), vjp))
    return found


def _fill_source_deltas(nodes: list[TraceNode], edges: list[TraceEdge]) -> None:
    """A node the engine kept no δ for (a tensor computed before recording began) gets the sum
    of the products arriving along its edges."""
    arriving: dict[int, list] = {}
    for e in edges:
        if e.product is not None:
            arriving.setdefault(e.source.index, []).append(e.product)
    for node in nodes:
        if node.delta is not None or not node.requires_grad:
            continue
        parts = arriving.get(node.index, [])
        if parts:
            total = parts[0].copy()
            for p in parts[1:]:
                total = total + p
            node.delta = total
