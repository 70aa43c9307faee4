"""Run ``chainrule.optim``'s optimizers from one start on a 2-D surface and keep their paths.

Each optimizer gets its own 2-element float64 Parameter θ, set to the surface's start, and is
driven through its public API exactly as a training loop would drive it:

- first-order optimizers: ``zero_grad(); f(θ).backward(); step()`` once per step;
- ``lbfgs``: ``LBFGS(max_iter=1, line_search_fn='strong_wolfe')``, one quasi-Newton iteration
  per step, with a closure that zeroes, evaluates f and calls ``backward()``;
- ``newton-cg``: ``NewtonCG(max_iter=1)``, one Newton iteration per step, with a closure that
  only returns f (NewtonCG differentiates it itself, twice).

**Counting gradient evaluations.** A hook registered on θ (``θ.register_hook``) runs once per
reverse pass that reaches θ, whichever call made it: a ``backward()`` in a step or a closure,
NewtonCG's gradient with ``create_graph=True``, and each of its Hessian-vector products
(H·v = ∇⟨∇f, v⟩ is one more reverse pass). So every gradient, every H·v and every evaluation
inside L-BFGS's line search counts as one. (Driven one iteration per step, L-BFGS opens each
step by evaluating the closure at the point the previous line search ended on, so it pays about
one extra gradient per step over a single long ``step()``; that is counted too, as spent.)
Forward-only evaluations (NewtonCG's backtracking line
search) are counted separately as ``func_evals``. The playground's own readings of f at each
iterate, made under ``no_grad`` for the record, are not the optimizer's work and are not counted.

A run stops before ``steps`` when a step leaves θ exactly where it was (L-BFGS and Newton–CG do
so once the gradient vanishes), when f or θ stops being finite or |θ| passes
:data:`DIVERGED_BEYOND` times the surface's scale (the largest coordinate of its drawing window
and start; the optimizer diverged), or when
a step raises an ArithmeticError (none of chainrule's optimizers does on these surfaces; the
guard keeps a user's surface from ending the whole comparison); ``Trajectory.stopped`` says which.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from ... import optim
from ...autograd import grad_mode
from ...nn import Parameter
from ...tensor import Tensor
from .surfaces import Surface, get_surface

__all__ = ["OPTIMIZERS", "DEFAULT_LR", "Trajectory", "Playground", "playground", "run_optimizer"]

MOMENTUM = 0.9  # β of momentum and Nesterov (the notes' value)

#: optimizer name -> how it is built from (params, lr)
OPTIMIZERS: dict[str, Callable[[list, float], optim.Optimizer]] = {
    "sgd": lambda ps, lr: optim.SGD(ps, lr=lr),
    "momentum": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=MOMENTUM),
    "nesterov": lambda ps, lr: optim.SGD(ps, lr=lr, momentum=MOMENTUM, nesterov=True),
    "adagrad": lambda ps, lr: optim.Adagrad(ps, lr=lr),
    "adadelta": lambda ps, lr: optim.Adadelta(ps, lr=lr),
    "rmsprop": lambda ps, lr: optim.RMSprop(ps, lr=lr),
    "adam": lambda ps, lr: optim.Adam(ps, lr=lr),
    "nadam": lambda ps, lr: optim.NAdam(ps, lr=lr),
    "lbfgs": lambda ps, lr: optim.LBFGS(ps, lr=lr, max_iter=1, max_eval=25,
                                           line_search_fn="strong_wolfe"),
    "newton-cg": lambda ps, lr: optim.NewtonCG(ps, lr=lr, max_iter=1),
}
_CLOSURE_STYLE = {"lbfgs": "backward", "newton-cg": "loss"}

#: surface -> optimizer -> learning rate used when none is given. How they were chosen:
#: - plane: one lr (0.1) for SGD, momentum and Nesterov, so their steps compare directly;
#: - valley: SGD at 0.19, just under the stability limit 2/10 of the steep direction (its best
#:   case: larger diverges); momentum and Nesterov at 0.05, the same for both so that only the
#:   look-ahead differs; RMSProp 0.1 and Adam 0.3, among the fastest without endless rattling;
#: - rosenbrock: SGD 1e-3, about the limit 2/1900 set by the curvature at the start; Adam 0.1;
#: - saddle: 0.01 for SGD, momentum and Nesterov, so that the escape is momentum's doing;
#: - Adadelta 10 everywhere: PyTorch's default 1.0 moves it only about √ε = 1e-3 per step at
#:   first, and it barely leaves the start in a few hundred steps;
#: - RMSProp keeps PyTorch's α = 0.99 (the notes' γ = 0.9 leaves it rattling at ±lr around a
#:   minimum); L-BFGS and Newton–CG take lr 1, their full (quasi-)Newton step.
DEFAULT_LR: dict[str, dict[str, float]] = {
    "plane": dict(sgd=0.1, momentum=0.1, nesterov=0.1, adagrad=0.5, adadelta=10.0, rmsprop=0.1,
                  adam=0.1, nadam=0.1),
    "valley": dict(sgd=0.19, momentum=0.05, nesterov=0.05, adagrad=1.0, adadelta=10.0,
                   rmsprop=0.1, adam=0.3, nadam=0.3),
    "rosenbrock": dict(sgd=1e-3, momentum=1e-3, nesterov=1e-3, adagrad=0.3, adadelta=10.0,
                       rmsprop=1e-2, adam=0.1, nadam=0.1),
    "saddle": dict(sgd=0.01, momentum=0.01, nesterov=0.01, adagrad=0.1, adadelta=10.0,
                   rmsprop=0.01, adam=0.01, nadam=0.01),
    "beale": dict(sgd=0.01, momentum=0.005, nesterov=0.005, adagrad=0.5, adadelta=10.0,
                  rmsprop=0.3, adam=0.05, nadam=0.05),
    "quadratic": dict(sgd=0.3, momentum=0.1, nesterov=0.1, adagrad=0.5, adadelta=10.0,
                      rmsprop=0.1, adam=0.1, nadam=0.1),
}
_SECOND_ORDER_LR = 1.0  # L-BFGS's and Newton–CG's lr scales the (quasi-)Newton step: 1 is it


def default_lr(surface: str, optimizer: str) -> float:
    """The learning rate ``optimizer`` gets on ``surface`` when none is given."""
    return DEFAULT_LR.get(surface, {}).get(optimizer, _SECOND_ORDER_LR)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One optimizer's path: ``points[k]`` is θ after k steps (row 0 the start), ``losses[k]``
    is f there, and ``grad_evals[k]``/``func_evals[k]`` the reverse/forward-only passes the
    optimizer had spent by then (0 at the start)."""

    optimizer: str
    lr: float
    points: np.ndarray
    losses: np.ndarray
    grad_evals: np.ndarray
    func_evals: np.ndarray
    stopped: str = ""  # why the run ended before its steps ran out ("" if it did not)
    counters: dict = field(default_factory=dict)  # the optimizer's own work counters, if any

    @property
    def steps(self) -> int:
        return len(self.points) - 1

    @property
    def final_point(self) -> np.ndarray:
        return self.points[-1]

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def step_lengths(self) -> np.ndarray:
        """‖θ_{k+1} − θ_k‖ for each step."""
        d = np.diff(self.points, axis=0)
        return np.hypot(d[:, 0], d[:, 1])        # no overflow on a diverging run


@dataclass(frozen=True, eq=False)
class Playground(Mapping):
    """The result of :func:`playground`: optimizer name -> :class:`Trajectory`, with the surface
    they ran on. ``table()`` and ``claims()`` give the printed numbers, ``plot(path)`` the
    figure."""

    surface: Surface
    trajectories: dict[str, Trajectory] = field(default_factory=dict)
    start: tuple[float, float] = (0.0, 0.0)  # where every optimizer started

    def __getitem__(self, name: str) -> Trajectory:
        try:
            return self.trajectories[name]
        except KeyError:
            raise KeyError(f"no trajectory for {name!r}; this run has "
                           f"{', '.join(self.trajectories)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.trajectories)

    def __len__(self) -> int:
        return len(self.trajectories)

    def steps_to_goal(self, name: str) -> int | None:
        """The first step at which ``name``'s path met the surface's goal (None: never)."""
        t = self[name]
        hits = np.flatnonzero(self.surface.reached(t.points, t.losses))
        return int(hits[0]) if hits.size else None

    def grad_evals_to_goal(self, name: str) -> int | None:
        k = self.steps_to_goal(name)
        return None if k is None else int(self[name].grad_evals[k])

    def table(self) -> str:
        from .report import table
        return table(self)

    def claims(self) -> list:
        from .claims import claims_for
        return claims_for(self)

    def plot(self, path, *, dpi: int = 120):
        """Draw the contour plot with every path and the loss against gradient evaluations to
        ``path`` (PNG or SVG by its extension), atomically; returns the path."""
        from .figure import plot_playground
        return plot_playground(self, path, dpi=dpi)


def _check_names(optimizers: Sequence[str]) -> list[str]:
    if isinstance(optimizers, str):
        optimizers = [n for n in optimizers.split(",") if n.strip()]
    names = [n.strip().lower().replace("_", "-") for n in optimizers]
    if not names:
        raise ValueError("playground: no optimizers given; choose from: " + ", ".join(OPTIMIZERS))
    unknown = [n for n in names if n not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"playground: unknown optimizer {unknown[0]!r}; choose from: "
                         + ", ".join(OPTIMIZERS))
    return list(dict.fromkeys(names))


def _learning_rates(surface: str, names: list[str], lr) -> dict[str, float]:
    if lr is None or isinstance(lr, Mapping):
        given = dict(lr or {})
        unknown = [n for n in given if n not in names]
        if unknown:
            raise ValueError(f"playground: a learning rate for {unknown[0]!r}, which is not among "
                             f"the optimizers run ({', '.join(names)})")
        rates = {n: float(given.get(n, default_lr(surface, n))) for n in names}
    else:
        rates = {n: float(lr) for n in names}
    for n, r in rates.items():
        if not (math.isfinite(r) and r > 0):
            raise ValueError(f"playground: the learning rate of {n} must be a positive number, "
                             f"got {r!r}")
    return rates


def run_optimizer(surface: Surface, name: str, lr: float, steps: int,
                  start: Sequence[float] | None = None) -> Trajectory:
    """Run optimizer ``name`` for up to ``steps`` steps on ``surface`` (see the module's notes)."""
    start = surface.start if start is None else start
    theta = Parameter(Tensor._wrap(np.array(start, dtype=np.float64), False, None))
    opt = OPTIMIZERS[name]([theta], lr)
    counts = {"grad": 0, "forward_only": 0}

    def count_reverse_pass(grad):
        counts["grad"] += 1

    theta.register_hook(count_reverse_pass)

    def f() -> Tensor:
        if not grad_mode.is_grad_enabled():
            counts["forward_only"] += 1
        return surface(theta)

    def measure() -> float:
        with grad_mode.no_grad():
            return float(surface(theta)._data)

    style = _CLOSURE_STYLE.get(name)
    if style == "backward":
        def closure():
            opt.zero_grad()
            loss = f()
            loss.backward()
            return loss
    elif style == "loss":
        closure = f
    def one_step() -> None:
        if style is None:
            opt.zero_grad()
            f().backward()
            opt.step()
        else:
            opt.step(closure)

    limit = DIVERGED_BEYOND * surface_scale(surface)
    points, losses = [theta._data.copy()], [measure()]
    grad_evals, forward_only = [0], [0]
    stopped = ""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, below
        for _ in range(steps):
            before = theta._data.copy()
            try:
                one_step()
            except (ArithmeticError, FloatingPointError) as exc:  # e.g. a line search's 1/0
                stopped = f"its step raised {type(exc).__name__}: {exc}"
                break
            points.append(theta._data.copy())
            losses.append(measure())
            grad_evals.append(counts["grad"])
            forward_only.append(counts["forward_only"])
            if not (np.all(np.isfinite(points[-1])) and math.isfinite(losses[-1])) or \
                    float(np.max(np.abs(points[-1]))) > limit:
                stopped = "diverged"
                break
            if np.array_equal(points[-1], before):
                stopped = "stopped moving"
                break
    return Trajectory(name, lr, np.array(points), np.array(losses), np.array(grad_evals),
                      np.array(forward_only), stopped, _own_counters(opt, theta))


#: a run whose |θ| (largest coordinate) passes this many times the surface's scale has diverged
#: (L-BFGS on the plane jumps to ~1e23 and then stops moving: that is no convergence)
DIVERGED_BEYOND = 1e12


def surface_scale(surface: Surface) -> float:
    """The surface's size: the largest absolute coordinate of its window and start (at
    least 1)."""
    (x0, x1), (y0, y1) = surface.window
    return max(1.0, *(abs(float(v)) for v in (x0, x1, y0, y1, *surface.start)))


def _own_counters(opt: optim.Optimizer, theta: Parameter) -> dict:
    """What the optimizer itself counted: Newton–CG's gradients, H·v products and line-search
    forward passes; L-BFGS's closure calls and iterations."""
    if isinstance(opt, optim.NewtonCG):
        return {"n_iter": opt.n_iter, "n_grad_evals": opt.n_grad_evals, "n_hvps": opt.n_hvps,
                "n_func_evals": opt.n_func_evals}
    if isinstance(opt, optim.LBFGS):
        state = opt.state[theta]
        return {"n_iter": int(state.get("n_iter", 0)),
                "func_evals": int(state.get("func_evals", 0))}
    return {}


def playground(surface: str = "valley",
               optimizers: Sequence[str] | str = ("sgd", "momentum", "nesterov", "rmsprop",
                                                  "adam", "lbfgs", "newton-cg"),
               steps: int = 300, lr: float | Mapping[str, float] | None = None,
               start: Sequence[float] | None = None) -> Playground:
    """Run each of ``optimizers`` (names of :data:`OPTIMIZERS`, a list or a comma-separated
    string) from the same ``start`` (default: the surface's) for ``steps`` steps on the surface
    ``surface`` (a name in :data:`~.surfaces.SURFACES`). ``lr``: None for the defaults of
    :data:`DEFAULT_LR`, one number for all, or a dict name -> lr overriding some defaults.
    Returns the :class:`Playground` of trajectories."""
    surf = get_surface(surface)
    names = _check_names(optimizers)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"playground: steps must be a positive integer, got {steps!r}")
    if start is not None:
        start = tuple(float(v) for v in start)
        if len(start) != 2 or not all(math.isfinite(v) for v in start):
            raise ValueError(f"playground: start must be two finite numbers (x, y), got {start!r}")
    rates = _learning_rates(surf.name, names, lr)
    start = surf.start if start is None else start
    return Playground(surf, {n: run_optimizer(surf, n, rates[n], int(steps), start)
                             for n in names}, start)
