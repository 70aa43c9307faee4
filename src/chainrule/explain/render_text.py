"""A trace as text: the forward pass in topological order, then the backward pass in reverse,
one line per node, in the notes' notation.

    forward pass (inputs → output)
      z2 = z1·y       = 36
    backward pass (δ = ∂f/∂node, output → inputs)
      δ_y = δ_z2·z1 + δ_z3·1   = (1·9) + (1·1) = 10

Where every factor is a single number the line works the chain rule out in numbers; otherwise it
gives the formula and a summary of the δ (shape, dtype, mean, norm, range, first entries).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .summary import summarize

if TYPE_CHECKING:
    from .tracing import Trace, TraceEdge, TraceNode

__all__ = ["render", "forward_lines", "backward_lines", "delta_terms"]

#: the widest the formula column is padded to
_COLUMN = 34


def _paren(text: str) -> str:
    """``text`` in brackets when it starts with a minus or has a sum or difference outside
    brackets (so ``δ·(1 − a²)`` but ``δ·a(1 − a)``)."""
    if text.startswith(("−", "-")):
        return f"({text})"
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and text[i:i + 3] in (" + ", " − ", " - "):
            return f"({text})"
    return text


def _named(node: "TraceNode", width: int) -> str:
    """``name = expression`` with the name padded to ``width``."""
    expression = node.expression or node.name
    head = node.name + " = "
    if expression.startswith(head):
        return f"{node.name:<{width}} = {expression[len(head):]}"
    return expression


def _num(a) -> str:
    text = summarize(a)
    return f"({text})" if text.startswith("-") else text


def delta_terms(trace: "Trace", node: "TraceNode") -> list["TraceEdge"]:
    """The edges whose products add up to δ_node (one per path out of it)."""
    return [e for e in trace.consumers_of(node) if e.product is not None]


def _compound(text: str) -> bool:
    """True when ``text`` has an operator or a space outside brackets (``δ_z·Wᵀ``)."""
    depth = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch in " +−-·⊙/*@":
            return True
    return False


def _term(edge: "TraceEdge", alone: bool = True) -> str:
    """One term of δ_source: δ_target times the local derivative, or a vector–Jacobian product
    as written (in brackets when other terms are added to it and it is not atomic)."""
    target = edge.target.name
    if edge.vjp and edge.derivative:
        text = edge.derivative
        return f"({text})" if not alone and _compound(text) else text
    derivative = edge.derivative or f"∂{target}/∂{edge.source.name}"
    return f"δ_{target}·{_paren(derivative)}"


def _all_scalar(edges: list["TraceEdge"]) -> bool:
    return all(e.local is not None and e.local.size == 1 and e.target.delta is not None
               and e.target.delta.size == 1 for e in edges)


def _pad(left: str, right: str) -> str:
    return f"{left:<{_COLUMN}} {right}" if right else left


def forward_lines(trace: "Trace") -> list[str]:
    """One line per leaf and op in topological order (constants appear inside expressions)."""
    width = max((len(n.name) for n in trace.nodes), default=1)
    lines = []
    for n in trace.nodes:
        if n.kind == "constant":
            continue
        if n.kind == "leaf":
            lines.append(f"  {n.name:<{width}} = {summarize(n.value)}")
            continue
        expression = _named(n, width)
        if n.is_scalar:
            lines.append("  " + _pad(expression, f"= {summarize(n.value)}"))
        else:
            lines.append("  " + _pad(expression, f"→ {summarize(n.value)}"))
    return lines


def backward_lines(trace: "Trace") -> list[str]:
    """One line per node a δ reached, output first: δ_u = Σ δ_v·∂v/∂u = … ."""
    out = trace.output
    width = max((len(n.name) for n in trace.nodes if n.kind != "constant"), default=1)
    lines = []
    if out.delta is not None:
        lines.append(f"  δ_{out.name:<{width}} = {summarize(out.delta)}")
    for n in reversed(trace.nodes):
        if n is out or n.kind == "constant" or n.delta is None:
            continue
        edges = delta_terms(trace, n)
        symbolic = " + ".join(_term(e, len(edges) == 1) for e in edges) if edges else "0"
        left = f"δ_{n.name:<{width}} = {symbolic}"
        if edges and _all_scalar(edges) and n.is_scalar:
            products = [f"{_num(e.target.delta)}·{_num(e.local)}" for e in edges]
            worked = products[0] if len(products) == 1 else \
                " + ".join(f"({p})" for p in products)
            lines.append("  " + _pad(left, f"= {worked} = {summarize(n.delta)}"))
        elif n.is_scalar:
            lines.append("  " + _pad(left, f"= {summarize(n.delta)}"))
        else:
            lines.append("  " + _pad(left, f"→ {summarize(n.delta)}"))
    return lines


def render(trace: "Trace") -> str:
    """The whole text: both passes under their headings."""
    out = trace.output
    seeded = out.delta is not None and out.delta.size == 1 and float(out.delta.reshape(())) == 1
    name = f"∂{out.name}" if seeded else "∂L"
    parts = ["forward pass (inputs → output)", *forward_lines(trace)]
    back = backward_lines(trace)
    if back:
        parts += ["", f"backward pass (δ = {name}/∂node, output → inputs)", *back]
    else:
        parts += ["", "backward pass: no δ (nothing in this graph requires grad)"]
    return "\n".join(parts)
