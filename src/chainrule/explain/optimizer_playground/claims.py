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
    """One claim of the notes, with its measured numbers; ``holds`` is None if not checked."""

    surface: str
    statement: str
    needs: tuple[str, ...]
    numbers: dict[str, float | int | None] = field(default_factory=dict)
    holds: bool | None = None

    def line(self) -> str:
        """The claim, its numbers and the verdict on one line."""
        if self.holds is None:
            return (f"{self.statement}: not checked (run with --optimizers "
                    f"{','.join(self.needs)})")
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in self.numbers.items())
        return f"{self.statement}: {shown} -> {'holds' if self.holds else 'does NOT hold here'}"


def _fmt(v) -> str:
    if v is None:
        return "never"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.4g}"


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


def _plane(p: "Playground") -> Claim:
    ratio = terminal_velocity_ratio(p["momentum"], p["sgd"])
    expected = 1.0 / (1.0 - MOMENTUM)
    numbers = {"momentum/SGD step ratio": ratio, "1/(1-beta)": expected}
    if "nesterov" in p:
        numbers["nesterov/SGD"] = terminal_velocity_ratio(p["nesterov"], p["sgd"])
    return Claim("plane", f"momentum's step tends to 1/(1-beta) = {expected:g} times SGD's",
                 ("sgd", "momentum"), numbers, abs(ratio / expected - 1) <= 0.01)


def _valley_overshoot(p: "Playground") -> Claim:
    m = p.surface.minimum
    heavy, nag = overshoot(p["momentum"], m), overshoot(p["nesterov"], m)
    return Claim("valley", "Nesterov overshoots less than momentum", ("momentum", "nesterov"),
                 {"overshoot momentum": heavy, "nesterov": nag}, nag < heavy)


def _valley_adaptive(p: "Playground") -> Claim:
    numbers: dict = {"SGD reversals": reversals(p["sgd"]),
                     "steps to goal SGD": p.steps_to_goal("sgd"),
                     "RMSProp": p.steps_to_goal("rmsprop"), "Adam": p.steps_to_goal("adam")}
    sgd = _steps(p, "sgd")
    holds = _steps(p, "rmsprop") < sgd and _steps(p, "adam") < sgd
    return Claim("valley", "RMSProp and Adam cross the narrow valley that SGD zigzags down",
                 ("sgd", "rmsprop", "adam"), numbers, bool(holds))


def _saddle(p: "Playground") -> Claim:
    sgd, heavy = p["sgd"], p["momentum"]
    saddle_value = float(p.surface.values(*np.asarray(p.surface.critical_point)))
    if sgd.steps >= STALL_WINDOW:
        change = float(abs(sgd.losses[-1] - sgd.losses[-1 - STALL_WINDOW]))
    else:
        change = float("inf")
    drop = float(heavy.final_loss - saddle_value)
    return Claim("saddle", f"SGD started near the ridge stalls (|df| < {STALL_CHANGE:g} over "
                 f"its last {STALL_WINDOW} steps) while momentum escapes (f below the saddle's "
                 f"by >= {ESCAPE_DROP:g})", ("sgd", "momentum"),
                 {"SGD |df| over last steps": change, "momentum f - f(saddle)": drop},
                 change < STALL_CHANGE and drop <= -ESCAPE_DROP)


def _rosenbrock(p: "Playground") -> Claim:
    second = [n for n in ("lbfgs", "newton-cg") if n in p]
    first = [n for n in p if n not in ("lbfgs", "newton-cg")]
    numbers = {f"steps {n}": p.steps_to_goal(n) for n in second}
    numbers.update({f"{n}": p.steps_to_goal(n) for n in first})
    best_first = min((_steps(p, n) for n in first), default=np.inf)
    holds = all(_steps(p, n) < min(TENS, best_first) for n in second)
    return Claim("rosenbrock", f"second-order methods reach Rosenbrock's minimum in tens of "
                 f"iterations (< {TENS}, and before every first-order method)",
                 ("lbfgs", "newton-cg"), numbers, bool(holds))


#: surface -> (optimizers needed, how to measure) for each claim
CLAIMS: dict[str, list[tuple[tuple[str, ...], Callable[["Playground"], Claim]]]] = {
    "plane": [(("sgd", "momentum"), _plane)],
    "valley": [(("momentum", "nesterov"), _valley_overshoot),
               (("sgd", "rmsprop", "adam"), _valley_adaptive)],
    "saddle": [(("sgd", "momentum"), _saddle)],
    "rosenbrock": [(("lbfgs", "newton-cg"), _rosenbrock)],
}

_STATEMENTS = {
    _plane: ("plane", "momentum's step tends to 1/(1-beta) times SGD's"),
    _valley_overshoot: ("valley", "Nesterov overshoots less than momentum"),
    _valley_adaptive: ("valley", "RMSProp and Adam cross the narrow valley that SGD zigzags "
                                 "down"),
    _saddle: ("saddle", "SGD near the ridge stalls while momentum escapes"),
    _rosenbrock: ("rosenbrock", "second-order methods reach Rosenbrock's minimum in tens of "
                                "iterations"),
}


def claims_for(p: "Playground") -> list[Claim]:
    """The claims about ``p``'s surface, measured on ``p`` (unchecked where an optimizer a claim
    needs was not run)."""
    out = []
    for needs, measure in CLAIMS.get(p.surface.name, []):
        if all(n in p for n in needs):
            out.append(measure(p))
        else:
            surface, statement = _STATEMENTS[measure]
            out.append(Claim(surface, statement, needs))
    return out
