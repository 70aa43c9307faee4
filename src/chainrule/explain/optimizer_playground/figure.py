"""The playground's figure: the surface's contours with every optimizer's path (left), and the
loss against gradient evaluations (right) — the gap f − f* on a log scale where the surface has
a minimum, the distance ‖θ − θ_0‖ from the start (log scale) where it is unbounded below.

matplotlib is optional (``pip install 'chainrule[viz]'``) and imported only here, without pyplot;
the file is written atomically (PNG or SVG by its extension).
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...io import write_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .run import Playground

__all__ = ["plot_playground", "playground_figure"]

_FORMATS = {".png": "png", ".svg": "svg"}
GAP_FLOOR = 1e-16  # a gap of exactly 0 is drawn here on the log scale


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the playground's figure needs matplotlib: pip install "
                          "'chainrule[viz]'") from None
    return Figure


def _contours(ax, p: "Playground") -> None:
    s = p.surface
    (x0, x1), (y0, y1) = s.window
    sx, sy = p.start                            # a start outside the window widens it
    pad_x, pad_y = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
    x0, x1 = min(x0, sx - pad_x), max(x1, sx + pad_x)
    y0, y1 = min(y0, sy - pad_y), max(y1, sy + pad_y)
    xs, ys = np.meshgrid(np.linspace(x0, x1, 241), np.linspace(y0, y1, 241))
    zs = s.values(xs, ys)
    if s.bounded:
        gap = np.maximum(zs - s.min_value, 1e-12)
        levels = np.geomspace(max(float(gap.min()), 1e-4 * float(gap.max())), float(gap.max()),
                              18)
        ax.contour(xs, ys, gap, levels=levels, colors="0.6", linewidths=0.6)
        ax.plot(*s.minimum, marker="*", color="k", markersize=12, linestyle="none",
                label="minimum")
    else:
        ax.contour(xs, ys, zs, levels=18, colors="0.6", linewidths=0.6)
        if s.critical_point is not None:
            ax.plot(*s.critical_point, marker="x", color="k", markersize=9, linestyle="none",
                    label="saddle point")
    for i, (name, t) in enumerate(p.items()):
        color = f"C{i % 10}"
        ax.plot(t.points[:, 0], t.points[:, 1], color=color, linewidth=1.2, marker=".",
                markersize=2.5, label=name)
        ax.plot(*t.points[-1], marker="o", color=color, markersize=4)
    ax.plot(*p.start, marker="s", color="k", markersize=5, linestyle="none", label="start")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{s.name}: {s.formula}", fontsize=9)


def _progress(ax, p: "Playground") -> None:
    s = p.surface
    for i, (name, t) in enumerate(p.items()):
        if s.bounded:
            y = np.maximum(t.losses - s.min_value, GAP_FLOOR)
            x = t.grad_evals
        else:
            d = t.points - t.points[0]
            y = np.hypot(d[:, 0], d[:, 1])[1:]      # 2-D distance without overflow
            x = t.grad_evals[1:]
        ax.plot(x, y, color=f"C{i % 10}", linewidth=1.2, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("gradient evaluations (each H·v and line-search gradient counts one)")
    if s.bounded:
        ax.set_ylabel("f − f*")
        ax.axhline(s.tolerance, color="0.5", linestyle=":", linewidth=0.8)
    else:
        ax.set_ylabel("distance from the start ‖θ − θ₀‖")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def playground_figure(p: "Playground"):
    """A matplotlib ``Figure`` of the run ``p`` (contours and paths | progress per evaluation)."""
    Figure = _figure_class()
    fig = Figure(figsize=(12, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    _contours(left, p)
    _progress(right, p)
    return fig


def plot_playground(p: "Playground", path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Draw :func:`playground_figure` to ``path`` (.png or .svg), atomically; returns the path."""
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"playground figure: {str(path)!r} must end in .png or .svg")
    fig = playground_figure(p)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
    write_bytes(target, buf.getvalue(), what="playground figure")
    return target
