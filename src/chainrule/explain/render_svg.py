"""A trace drawn left to right: each node with its value and δ, each edge with the local
derivative and the δ it sends back.

The layout is Graphviz's ``dot`` (through the ``graphviz`` package, ``viz`` extra) where the
``dot`` program is installed, otherwise a layered layout sized by its labels and drawn with
matplotlib (see :mod:`.render_mpl`). Text stays text in both SVGs, so the
numbers can be searched and copied.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .summary import summarize

if TYPE_CHECKING:
    from .tracing import Trace, TraceEdge, TraceNode

__all__ = ["render", "save", "choose_engine", "node_label", "edge_label"]

ENGINES = ("auto", "graphviz", "matplotlib")
_FILL = {"leaf": "#dbeafe", "constant": "#f3f4f6", "op": "#fef3c7"}


def _brief(a: np.ndarray | None) -> str:
    if a is None:
        return "–"
    if a.size == 1:
        return summarize(a)
    norm = float(np.sqrt(np.sum(np.square(a.astype(np.float64)))))
    return f"{tuple(a.shape)} ‖·‖ {norm:.4g}"


def node_label(node: "TraceNode") -> list[str]:
    """The lines drawn in a node: its name (and op), value and δ."""
    head = node.name if node.op is None else f"{node.name}  [{node.op}]"
    value = _brief(node.value)
    if node.kind == "constant" and node.name.strip("()") == value:
        return [node.name]                  # a number named by its value
    lines = [head, f"= {value}"]
    if node.delta is not None:
        lines.append(f"δ = {_brief(node.delta)}")
    return lines


def edge_label(edge: "TraceEdge") -> list[str]:
    """The lines drawn on an edge: ∂target/∂source (its value where it is a number) and the
    δ it sends back, δ_target·∂target/∂source."""
    lines = []
    if edge.local is not None and edge.local.size == 1:
        lines.append(f"∂ = {summarize(edge.local)}")
    if edge.product is not None:
        lines.append(f"δ·∂ = {_brief(edge.product)}")
    return lines


def _has_graphviz() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def choose_engine(engine: str = "auto") -> str:
    """``"graphviz"`` or ``"matplotlib"``; ``"auto"`` picks Graphviz where ``dot`` exists."""
    if engine not in ENGINES:
        raise ValueError(f"trace drawing: engine must be one of {', '.join(ENGINES)}, got "
                         f"{engine!r}")
    if engine == "auto":
        return "graphviz" if _has_graphviz() else "matplotlib"
    if engine == "graphviz" and not _has_graphviz():
        raise ImportError("drawing with Graphviz needs the graphviz package (pip install "
                          "'chainrule[viz]') and Graphviz's dot program on the PATH; "
                          "engine='matplotlib' needs neither")
    return engine


def _graphviz(trace: "Trace", fmt: str) -> bytes:
    import graphviz
    dot = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "nodesep": "0.35", "ranksep": "0.9"},
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                   "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})
    for n in trace.nodes:
        dot.node(f"n{n.index}", label="\\n".join(node_label(n)), fillcolor=_FILL[n.kind])
    for e in trace.edges:
        dot.edge(f"n{e.source.index}", f"n{e.target.index}",
                 label="\\n".join(edge_label(e)))
    for e in _constant_edges(trace):
        dot.edge(f"n{e[0]}", f"n{e[1]}", style="dashed", color="#999999")
    return dot.pipe(format=fmt)


def _constant_edges(trace: "Trace") -> list[tuple[int, int]]:
    """(source, target) for inputs that receive no δ (constants, tensors without grad)."""
    have = {(e.source.index, e.target.index) for e in trace.edges}
    found = []
    for n in trace.nodes:
        for s in n.inputs:
            if (s, n.index) not in have:
                found.append((s, n.index))
    return found


def _layers(trace: "Trace") -> dict[int, int]:
    """Column of each node: 1 + its deepest input's for ops; just before its first consumer's
    for leaves and constants."""
    depth: dict[int, int] = {}
    for n in trace.nodes:
        depth[n.index] = 1 + max(depth[i] for i in n.inputs) if n.inputs else 0
    for n in trace.nodes:            # a leaf sits just left of its first consumer
        if not n.inputs:
            users = [depth[m.index] for m in trace.nodes if n.index in m.inputs]
            depth[n.index] = max(min(users) - 1, 0) if users else 0
    return depth


def _matplotlib(trace: "Trace", fmt: str) -> bytes:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"drawing a trace without Graphviz needs matplotlib (pip install "
                          f"'chainrule[viz]'): {exc}") from None
    from .render_mpl import draw
    return draw(trace, _layers(trace), node_label, edge_label, _FILL, fmt)


def render(trace: "Trace", fmt: str = "svg", engine: str = "auto") -> bytes:
    """The drawing as ``fmt`` (``"svg"`` or ``"png"``) bytes."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"trace drawing: format must be 'svg' or 'png', got {fmt!r}")
    chosen = choose_engine(engine)
    return _graphviz(trace, fmt) if chosen == "graphviz" else _matplotlib(trace, fmt)


def save(trace: "Trace", path: Any, engine: str = "auto") -> None:
    """Write the drawing to ``path``; its suffix (``.svg``, ``.png``) picks the format."""
    from ..io import write_bytes
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError(f"trace.save: cannot tell the format of {str(p)!r} from its suffix "
                         f"{p.suffix!r}; use .svg or .png")
    write_bytes(p, render(trace, fmt, engine), what="the trace drawing")
