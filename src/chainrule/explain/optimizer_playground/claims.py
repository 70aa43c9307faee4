"""The lecture notes' claims about the optimizers, measured on a playground run.

Each claim belongs to one surface and needs some optimizers in the run; :func:`claims_for`
returns those of the run's surface, each with the numbers it rests on and whether they bear the
claim out (``None`` when the run lacks an optimizer the claim needs). The measures:

- *terminal velocity* (plane): the last step's length divided by the lr, for momentum against
  SGD; a constant gradient g gives v → g/(1 − β), so the ratio tends to 1/(1 − β) (10 at β = 0.9).
- *overshoot* (valley): how far past the minimum θ* the path goes, measured along the line from
  the start to θ*: max_k max(0, −(θ_k − θ*)·u) with u = (θ_0 − θ*)/‖θ_0 − θ*‖.
- *reversals*: the steps whose direction turns back (Δθ_k·Δθ_{k+1} < 0), SGD's zigzag.
- *steps to the goal*: the first step meeting the surface's goal (f − f* ≤ tolerance).
- *stall* (saddle): |f_K − f_{K−100}| over the last 100 of K steps; *escape*: f_K − f(saddle).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from .run import MOMENTUM

if TYPE_CHECKING:  # pragma: no cover
    from .run import Playground, Trajectory

__all__ = ["Claim", "claims_for", "terminal_velocity_ratio", "overshoot", "reversals",
           "CLAIMS"]

STALL_WINDOW = 100      # steps over which SGD's stall on the saddle is measured
STALL_CHANGE = 1e-3     # |Δf| below which it counts as stalled
ESCAPE_DROP = 1.0       # how far below the saddle's value momentum must get
TENS = 100              # "tens of iterations": fewer than this


@dataclass(frozen=True)
class Claim:
    """One claim of the notes, with its measured numbers; ``holds`` is None when the run could
    not check it (``reason`` says why)."""

    surface: str
    statement: str
    needs: tuple[str, ...]
    numbers: dict[str, float | int | None] = field(default_factory=dict)
    holds: bool | None = None
    reason: str = ""

    def line(self) -> str:
        """The claim, its numbers and the verdict on one line."""
        if self.holds is None:
            return f"{self.statement}: not checked ({self.reason})"
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in self.numbers.items())
        return f"{self.statement}: {shown} -> {'holds' if self.holds else 'does NOT hold here'}"


def _fmt(v) -> str:
    if v is None:
        return "never"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.5g}"


def terminal_velocity_ratio(fast: "Trajectory", plain: "Trajectory") -> float:
    """(last step of ``fast`` / its lr) ÷ (last step of ``plain`` / its lr)."""
    return float((fast.step_lengths[-1] / fast.lr) / (plain.step_lengths[-1] / plain.lr))


def overshoot(t: "Trajectory", minimum) -> float:
    """How far the path goes past ``minimum`` along the start-to-minimum line (0: never)."""
    m = np.asarray(minimum, dtype=np.float64)
    u = t.points[0] - m
    u = u / np.linalg.norm(u)
    return max(0.0, float(-((t.points - m) @ u).min()))


def reversals(t: "Trajectory") -> int:
    """How many times the step direction turns back (consecutive steps with Δθ·Δθ' < 0)."""
    d = np.diff(t.points, axis=0)
    return int(((d[1:] * d[:-1]).sum(axis=1) < 0).sum())


def _steps(p: "Playground", name: str) -> float:
    k = p.steps_to_goal(name)
    return np.inf if k is None else k


def _plane(p: "Playground"):
    if min(p["sgd"].steps, p["momentum"].steps) < 1:
        return "needs at least one step of each"
    ratio = terminal_velocity_ratio(p["momentum"], p["sgd"])
    expected = 1.0 / (1.0 - MOMENTUM)
    numbers = {"momentum/SGD step ratio": ratio, "1/(1-beta)": expected}
    if "nesterov" in p and p["nesterov"].steps:
        numbers["nesterov/SGD"] = terminal_velocity_ratio(p["nesterov"], p["sgd"])
    return numbers, abs(ratio / expected - 1) <= 0.01


def _valley_overshoot(p: "Playground"):
    m = p.surface.minimum
    heavy, nag = overshoot(p["momentum"], m), overshoot(p["nesterov"], m)
    return {"overshoot momentum": heavy, "nesterov": nag}, nag < heavy


def _valley_adaptive(p: "Playground"):
    numbers: dict = {"SGD reversals": reversals(p["sgd"]),
                     "steps to goal SGD": p.steps_to_goal("sgd"),
                     "RMSProp": p.steps_to_goal("rmsprop"), "Adam": p.steps_to_goal("adam")}
    sgd = _steps(p, "sgd")
    return numbers, bool(_steps(p, "rmsprop") < sgd and _steps(p, "adam") < sgd)


def _saddle(p: "Playground"):
    sgd, heavy = p["sgd"], p["momentum"]
    if sgd.steps < STALL_WINDOW:
        return f"needs at least {STALL_WINDOW} steps of SGD, got {sgd.steps}"
    saddle_value = float(p.surface.values(*np.asarray(p.surface.critical_point)))
    change = float(abs(sgd.losses[-1] - sgd.losses[-1 - STALL_WINDOW]))
    drop = float(heavy.final_loss - saddle_value)
    numbers = {f"SGD |df| over its last {STALL_WINDOW} steps": change,
               "momentum f - f(saddle)": drop}
    return numbers, change < STALL_CHANGE and drop <= -ESCAPE_DROP


def _rosenbrock(p: "Playground"):
    second = [n for n in ("lbfgs", "newton-cg") if n in p]
    first = [n for n in p if n not in second]
    numbers = {f"steps {n}": p.steps_to_goal(n) for n in second}
    numbers.update({n: p.steps_to_goal(n) for n in first})
    best_first = min((_steps(p, n) for n in first), default=np.inf)
    return numbers, all(_steps(p, n) < min(TENS, best_first) for n in second)


#: surface -> its claims: (statement, optimizers needed, measure); a measure returns
#: (numbers, holds), or a string saying why the run cannot check the claim
CLAIMS: dict[str, list[tuple[str, tuple[str, ...], Callable]]] = {
    "plane": [(f"momentum's step tends to 1/(1-beta) = {1 / (1 - MOMENTUM):g} times SGD's "
               "(within 1 %)", ("sgd", "momentum"), _plane)],
    "valley": [("Nesterov overshoots less than momentum", ("momentum", "nesterov"),
                _valley_overshoot),
               ("RMSProp and Adam cross the narrow valley that SGD zigzags down (fewer steps "
                "to the goal)", ("sgd", "rmsprop", "adam"), _valley_adaptive)],
    "saddle": [(f"SGD started near the ridge stalls (|df| < {STALL_CHANGE:g} over its last "
                f"{STALL_WINDOW} steps) while momentum escapes (f at least {ESCAPE_DROP:g} "
                "below the saddle's)", ("sgd", "momentum"), _saddle)],
    "rosenbrock": [(f"second-order methods reach Rosenbrock's minimum in tens of iterations "
                    f"(< {TENS}, before every first-order method run)", ("lbfgs", "newton-cg"),
                    _rosenbrock)],
}


def claims_for(p: "Playground") -> list[Claim]:
    """The claims about ``p``'s surface, measured on ``p`` (unchecked where an optimizer a claim
    needs was not run, or the run is too short)."""
    out = []
    for statement, needs, measure in CLAIMS.get(p.surface.name, []):
        missing = [n for n in needs if n not in p]
        if missing:
            out.append(Claim(p.surface.name, statement, needs,
                             reason="run with --optimizers including " + ",".join(needs)))
            continue
        measured = measure(p)
        if isinstance(measured, str):
            out.append(Claim(p.surface.name, statement, needs, reason=measured))
        else:
            numbers, holds = measured
            out.append(Claim(p.surface.name, statement, needs, numbers, bool(holds)))
    return out
