"""The playground's 2-D test surfaces f(x, y), each a function of a chainrule Tensor θ = (x, y).

A surface's function reads only ``theta[0]`` and ``theta[1]`` with elementwise operations, so
the same code serves the optimizers (θ a 2-element Parameter; its gradient and, for Newton–CG,
its Hessian-vector products come from chainrule's autograd) and the contour plot (θ a
(2, H, W) grid of points, evaluated in one call). There is no second copy of any formula.

Each surface also says where its minimum is (``None`` where f is unbounded below), where the
optimizers start, the window the figure shows, and what "reached the goal" means for the
table's steps-to-target column:

- bounded surfaces: the gap f(θ) − f* has fallen to ``tolerance``;
- ``plane``: θ has travelled ``escape`` from the start;
- ``saddle``: f(θ) has fallen ``escape`` below the saddle's value f(0, 0) = 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...tensor import Tensor

__all__ = ["Surface", "SURFACES", "get_surface"]


@dataclass(frozen=True)
class Surface:
    """A 2-D objective with what the playground needs to run and draw it."""

    name: str
    formula: str
    fn: Callable[[Tensor], Tensor]
    start: tuple[float, float]
    window: tuple[tuple[float, float], tuple[float, float]]
    minimum: tuple[float, float] | None = None   # None: unbounded below
    min_value: float | None = None
    tolerance: float = 1e-6                       # bounded: the gap f − f* counted as reached
    escape: float | None = None                   # unbounded: distance (plane) or f drop (saddle)
    critical_point: tuple[float, float] | None = None   # the saddle point, where there is one
    description: str = ""

    @property
    def bounded(self) -> bool:
        """Whether f has a minimum (the figure then plots the gap f − f* on a log scale)."""
        return self.min_value is not None

    def __call__(self, theta: Tensor) -> Tensor:
        return self.fn(theta)

    def values(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """f at the points (x, y), arrays of one shape, through the same Tensor function."""
        grid = np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
        return np.asarray(self.fn(Tensor._wrap(grid, False, None))._data, dtype=np.float64)

    def reached(self, points: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Per row of ``points``/``losses``: has the goal been met (see the module's docstring)?"""
        if self.bounded:
            return losses - self.min_value <= self.tolerance
        if self.critical_point is not None:       # a saddle: escaped below it by ``escape``
            saddle_value = float(self.values(*np.asarray(self.critical_point)))
            return losses <= saddle_value - self.escape
        d = points - points[0]
        return np.hypot(d[:, 0], d[:, 1]) >= self.escape    # no overflow on a diverging run

    @property
    def goal(self) -> str:
        """The goal in words, for the table's header."""
        if self.bounded:
            return f"f - f* <= {self.tolerance:g}"
        if self.critical_point is not None:
            return f"f <= f(saddle) - {self.escape:g}"
        return f"|theta - start| >= {self.escape:g}"


def _plane(t: Tensor) -> Tensor:
    """f = 0.5x + 0.25y; ∇f = (0.5, 0.25) everywhere, no minimum."""
    return 0.5 * t[0] + 0.25 * t[1]


def _valley(t: Tensor) -> Tensor:
    """f = 0.05x² + 5y²; ∇f = (0.1x, 10y), minimum 0 at (0, 0), Hessian diag(0.1, 10)."""
    return 0.05 * t[0] ** 2 + 5.0 * t[1] ** 2


def _rosenbrock(t: Tensor) -> Tensor:
    """f = (1 − x)² + 100(y − x²)²; minimum 0 at (1, 1) at the end of a curved valley."""
    return (1.0 - t[0]) ** 2 + 100.0 * (t[1] - t[0] ** 2) ** 2


def _saddle(t: Tensor) -> Tensor:
    """f = 5x² − 0.5y²; ∇f = (10x, −y), a saddle at (0, 0) with f = 0, unbounded below."""
    return 5.0 * t[0] ** 2 - 0.5 * t[1] ** 2


def _beale(t: Tensor) -> Tensor:
    """f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²; minimum 0 at (3, 0.5)."""
    x, y = t[0], t[1]
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def _quadratic(t: Tensor) -> Tensor:
    """f = x² + 0.5xy + 0.5y² = ½θᵀAθ, A = [[2, 0.5], [0.5, 1]]; minimum 0 at (0, 0)."""
    x, y = t[0], t[1]
    return x ** 2 + 0.5 * x * y + 0.5 * y ** 2


SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("plane", "f = 0.5·x + 0.25·y", _plane, start=(0.0, 0.0),
            window=((-60.0, 5.0), (-30.0, 5.0)), escape=10.0,
            description="a constant gradient (0.5, 0.25): no minimum; momentum's step grows "
                        "to 1/(1 − β) times SGD's"),
    Surface("valley", "f = 0.05·x² + 5·y²", _valley, start=(-10.0, 1.0),
            window=((-11.0, 4.0), (-1.5, 1.5)), minimum=(0.0, 0.0), min_value=0.0,
            tolerance=1e-4,
            description="a long narrow valley along x (curvatures 0.1 and 10, condition 100)"),
    Surface("rosenbrock", "f = (1 − x)² + 100·(y − x²)²", _rosenbrock, start=(-1.5, 2.0),
            window=((-2.0, 2.0), (-1.0, 3.0)), minimum=(1.0, 1.0), min_value=0.0,
            tolerance=1e-6,
            description="Rosenbrock's banana: a curved valley, minimum at (1, 1)"),
    Surface("saddle", "f = 5·x² − 0.5·y²", _saddle, start=(1.0, 1e-3),
            window=((-1.5, 1.5), (-3.0, 3.0)), escape=1.0, critical_point=(0.0, 0.0),
            description="a saddle at (0, 0), unbounded below along y, started 1e-3 off the "
                        "ridge y = 0"),
    Surface("beale", "f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", _beale,
            start=(1.0, 1.5), window=((-1.0, 4.5), (-1.5, 2.0)), minimum=(3.0, 0.5),
            min_value=0.0, tolerance=1e-6,
            description="Beale's function: flat plateaus and steep walls, minimum at (3, 0.5)"),
    Surface("quadratic", "f = x² + 0.5·xy + 0.5·y²", _quadratic, start=(-2.0, 2.5),
            window=((-3.0, 3.0), (-3.0, 3.0)), minimum=(0.0, 0.0), min_value=0.0,
            tolerance=1e-8,
            description="a tilted, well-conditioned bowl"),
)}


def get_surface(name: str) -> Surface:
    """The surface called ``name``; a ValueError listing the known names otherwise."""
    surface = SURFACES.get(name)
    if surface is None:
        raise ValueError(f"unknown surface {name!r}; choose one of: {', '.join(SURFACES)}")
    return surface
