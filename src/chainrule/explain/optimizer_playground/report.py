"""The playground's printed table: per optimizer, its lr, the steps and gradient evaluations it
took to meet the surface's goal, the steps it ran, where it ended and f there."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .run import Playground

__all__ = ["table"]


def _num(v: float) -> str:
    return f"{v:.4g}"


def table(p: "Playground") -> str:
    """A plain-text table of the run ``p``, one optimizer per row."""
    s = p.surface
    header = ["optimizer", "lr", "steps to goal", "grad evals to goal", "steps run",
              "grad evals", "final (x, y)", "final f"]
    rows = []
    for name, t in p.items():
        k = p.steps_to_goal(name)
        note = f" ({t.stopped})" if t.stopped else ""
        rows.append([name, f"{t.lr:g}", "-" if k is None else str(k),
                     "-" if k is None else str(int(t.grad_evals[k])), str(t.steps),
                     str(int(t.grad_evals[-1])),
                     f"({_num(t.final_point[0])}, {_num(t.final_point[1])})",
                     _num(t.final_loss) + note])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = [f"{s.name}: {s.formula}, start ({p.start[0]:g}, {p.start[1]:g}); "
             f"goal: {s.goal}"]
    if s.minimum is not None:
        lines[0] += f"; minimum f* = {s.min_value:g} at ({s.minimum[0]:g}, {s.minimum[1]:g})"
    for r in [header] + rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)
