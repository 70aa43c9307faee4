"""A trace drawn with matplotlib alone (no Graphviz): a layered layout sized by its labels.

Sizes are worked out in inches from the text: each node's box from its longest line and its
number of lines, each column as wide as its widest box, each gap between columns as wide as the
widest edge label that has to sit in it, and the rows of a column far enough apart that the
boxes never touch. The axes span the whole figure with one data unit per inch, so what is
measured is what is drawn. Edges run from the right side of a box to the left side of the next
(drawn first, under everything), bent where a straight line would cross another box; each
edge's label sits on its edge inside the gap just before
its target's column, on a white box, and labels that would overlap in a gap are pushed apart
vertically. Nodes are drawn last, above edges and labels. Within each column nodes are ordered
by the mean height of their neighbours in the column before (fewer crossings).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tracing import Trace

__all__ = ["draw", "layout", "Layout"]

_FONT = 8.0                         #: node text size, points
_EDGE_FONT = 7.0                    #: edge label size, points
_CHAR = 0.62 / 72                   #: width of one character per point of size, inches
_LINE = 1.35 / 72                   #: height of one line per point of size, inches
_PAD = 0.12                         #: inside a node box, inches
_ROW_GAP = 0.35                     #: between boxes in a column, inches
_MARGIN = 0.3                       #: around the drawing, inches


def _text_size(lines: list[str], size: float) -> tuple[float, float]:
    width = max((len(s) for s in lines), default=1) * size * _CHAR
    return width, max(len(lines), 1) * size * _LINE


def _order(trace: "Trace", layers: dict[int, int]) -> dict[int, list[int]]:
    """Node indices per column, each column ordered by its nodes' neighbours' mean position."""
    columns: dict[int, list[int]] = {}
    for n in trace.nodes:
        columns.setdefault(layers[n.index], []).append(n.index)
    rank: dict[int, float] = {}
    consumers: dict[int, list[int]] = {n.index: [] for n in trace.nodes}
    for n in trace.nodes:
        for s in n.inputs:
            consumers[s].append(n.index)
    for k in sorted(columns):
        def key(i: int) -> float:
            node = trace.nodes[i]
            near = [rank[s] for s in node.inputs if s in rank]
            return sum(near) / len(near) if near else float(i)
        columns[k].sort(key=key)
        for position, i in enumerate(columns[k]):
            rank[i] = position
    # leaves were placed by index; put each next to the mean rank of the ops it feeds
    for k in sorted(columns):
        def leaf_key(i: int) -> float:
            users = [rank[u] for u in consumers[i] if u in rank]
            return sum(users) / len(users) if not trace.nodes[i].inputs and users else rank[i]
        columns[k].sort(key=leaf_key)
        for position, i in enumerate(columns[k]):
            rank[i] = position
    return columns


def _curve(p0, p1, rad: float, t: float) -> tuple[float, float]:
    """The point at ``t`` of matplotlib's ``arc3`` curve from p0 to p1 (a quadratic Bézier whose
    control point is ``rad`` × the chord's length off its midpoint; one unit per inch on both
    axes, so data and display agree on the shape)."""
    (x0, y0), (x1, y1) = p0, p1
    cx, cy = (x0 + x1) / 2 + rad * (y1 - y0), (y0 + y1) / 2 - rad * (x1 - x0)
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
    return a * x0 + b * cx + c * x1, a * y0 + b * cy + c * y1


def _y_at(p0, p1, rad: float, x: float) -> float:
    """The curve's height where it crosses ``x`` (bisection; x grows along the curve)."""
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if _curve(p0, p1, rad, mid)[0] < x:
            lo = mid
        else:
            hi = mid
    return _curve(p0, p1, rad, (lo + hi) / 2)[1]


def _bend(p0, p1, rects: dict, ends: set) -> float:
    """The least bend of an edge that keeps it off the boxes it does not join (straight where
    it already is)."""
    best, fewest = 0.0, None
    for rad in (0.0, 0.2, -0.2, 0.35, -0.35):
        hits = 0
        for k in range(1, 40):
            x, y = _curve(p0, p1, rad, k / 40)
            hits += sum(1 for i, (a, b, c, d) in rects.items()
                        if i not in ends and a <= x <= c and b <= y <= d)
        if fewest is None or hits < fewest:
            best, fewest = rad, hits
        if hits == 0:
            break
    return best


@dataclass
class Layout:
    """Where everything goes, in inches from the bottom left."""

    width: float
    height: float
    nodes: dict[int, tuple[float, float, float, float]]   #: index -> centre x, y, width, height
    texts: dict[int, str]                                 #: index -> the node's text
    labels: list[tuple[float, float, float, float, str]]  #: centre x, y, width, height, text
    edges: list[tuple[int, int, float, bool]]             #: source, target, bend, dashed


def layout(trace: "Trace", layers: dict[int, int], node_label, edge_label) -> Layout:
    """Sizes and places the nodes, the edges' bends and the edge labels (module docstring)."""
    labels = {n.index: node_label(n) for n in trace.nodes}
    boxes = {i: tuple(v + 2 * _PAD for v in _text_size(lines, _FONT))
             for i, lines in labels.items()}
    edge_text = {id(e): edge_label(e) for e in trace.edges}
    columns = _order(trace, layers)
    ks = sorted(columns)
    gap = {k: 0.7 for k in ks}                  # the gap before column k
    for e in trace.edges:
        if edge_text[id(e)]:
            w, _ = _text_size(edge_text[id(e)], _EDGE_FONT)
            k = layers[e.target.index]
            gap[k] = max(gap[k], w + 0.5)
    col_width = {k: max(boxes[i][0] for i in columns[k]) for k in ks}
    col_height = {k: sum(boxes[i][1] for i in columns[k]) + _ROW_GAP * (len(columns[k]) - 1)
                  for k in ks}
    height = max(col_height.values()) + 2 * _MARGIN
    pos: dict[int, tuple[float, float]] = {}
    x = _MARGIN
    col_left: dict[int, float] = {}
    for j, k in enumerate(ks):
        if j:
            x += gap[k]
        col_left[k] = x
        y = (height + col_height[k]) / 2             # top of the column, centred
        for i in columns[k]:
            w, h = boxes[i]
            pos[i] = (x + col_width[k] / 2, y - h / 2)
            y -= h + _ROW_GAP
        x += col_width[k]
    width = x + _MARGIN

    def right(i: int) -> tuple[float, float]:
        return pos[i][0] + boxes[i][0] / 2, pos[i][1]

    def left(i: int) -> tuple[float, float]:
        return pos[i][0] - boxes[i][0] / 2, pos[i][1]

    rects = {i: (pos[i][0] - boxes[i][0] / 2 - 0.05, pos[i][1] - boxes[i][1] / 2 - 0.05,
                 pos[i][0] + boxes[i][0] / 2 + 0.05, pos[i][1] + boxes[i][1] / 2 + 0.05)
             for i in pos}
    bends: dict[tuple[int, int], float] = {}
    for n in trace.nodes:
        for s in n.inputs:
            bends[(s, n.index)] = _bend(right(s), left(n.index), rects, {s, n.index})

    # each label on its edge, in the middle of the gap before the target's column
    placed: dict[int, list[list]] = {}
    for e in trace.edges:
        lines = edge_text[id(e)]
        if not lines:
            continue
        p0, p1 = right(e.source.index), left(e.target.index)
        k = layers[e.target.index]
        lx = col_left[k] - gap[k] / 2            # between x0 and x1: columns hold the boxes
        ly = _y_at(p0, p1, bends[(e.source.index, e.target.index)], lx)
        _, h = _text_size(lines, _EDGE_FONT)
        w, _ = _text_size(lines, _EDGE_FONT)
        placed.setdefault(k, []).append([ly, h + 0.08, lx, "\n".join(lines), w + 0.08])
    for items in placed.values():                # push overlapping labels apart
        items.sort(key=lambda item: -item[0])
        for a, b in zip(items, items[1:]):
            need = (a[1] + b[1]) / 2 + 0.04
            if a[0] - b[0] < need:
                b[0] = a[0] - need

    low = min((item[0] - item[1] / 2 for items in placed.values() for item in items),
              default=_MARGIN)
    if low < _MARGIN:                            # labels pushed below the drawing: lift all
        lift = _MARGIN - low
        height += lift
        pos = {i: (px, py + lift) for i, (px, py) in pos.items()}
        for items in placed.values():
            for item in items:
                item[0] += lift
    high = max((item[0] + item[1] / 2 for items in placed.values() for item in items),
               default=0.0)
    height = max(height, high + _MARGIN)
    have = {(e.source.index, e.target.index) for e in trace.edges}
    return Layout(
        width, height,
        {i: (pos[i][0], pos[i][1], *boxes[i]) for i in pos},
        {i: "\n".join(lines) for i, lines in labels.items()},
        [(lx, ly, w, h, text) for items in placed.values() for ly, h, lx, text, w in items],
        [(s, n.index, bends[(s, n.index)], (s, n.index) not in have)
         for n in trace.nodes for s in n.inputs])


def draw(trace: "Trace", layers: dict[int, int], node_label, edge_label, fills: dict,
         fmt: str) -> bytes:
    """The drawing as ``fmt`` bytes (see the module docstring)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    plan = layout(trace, layers, node_label, edge_label)
    nodes = plan.nodes
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": _FONT}):
        fig = Figure(figsize=(plan.width, plan.height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, plan.width)
        ax.set_ylim(0, plan.height)
        for s, t, bend, dashed in plan.edges:
            start = (nodes[s][0] + nodes[s][2] / 2, nodes[s][1])
            end = (nodes[t][0] - nodes[t][2] / 2, nodes[t][1])
            ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=dict(
                arrowstyle="->", color="#999999" if dashed else "#555555",
                linestyle="dashed" if dashed else "solid", shrinkA=0, shrinkB=1,
                connectionstyle=f"arc3,rad={bend}"))
        for lx, ly, _, _, text in plan.labels:
            ax.text(lx, ly, text, ha="center", va="center", fontsize=_EDGE_FONT,
                    color="#333333", zorder=2, bbox=dict(
                        boxstyle="round,pad=0.15", fc="white", ec="#dddddd", lw=0.5))
        for n in trace.nodes:
            cx, cy, w, h = nodes[n.index]
            ax.add_patch(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, zorder=3,
                                        boxstyle="round,pad=0,rounding_size=0.06",
                                        fc=fills[n.kind], ec="#444444", lw=0.8))
            ax.text(cx, cy, plan.texts[n.index], ha="center", va="center", zorder=4,
                    linespacing=1.2)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=110)
    return buf.getvalue()
