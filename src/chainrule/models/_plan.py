"""A built-in model's layers described before anything is allocated: a *plan*.

Each builder in :mod:`.builders` first writes its architecture as a list of :class:`Layer`
entries, then builds them with :func:`build`; :mod:`.size` walks the same list to count the
parameters, so the architecture is stated once. A layer knows its parameter count (Linear m → n:
m·n + n; Conv c_in → c_out with a k-wide kernel in d dimensions: c_in·c_out·k^d + c_out;
BatchNorm over n features: 2n) and the configuration option its size comes from.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterator, NamedTuple, Sequence

from .. import nn

__all__ = ["Dim", "Layer", "linear", "conv", "norm", "free", "residual", "build", "walk"]


class Dim(NamedTuple):
    """A layer width and the configuration option it comes from (``hidden``, ``num_classes``)."""
    size: int
    option: str


@dataclass(frozen=True)
class Layer:
    """One layer: ``make()`` builds it; ``parameters`` (of this layer, not its ``parts``),
    ``name`` and ``option`` describe it without building; ``parts`` are nested layers."""
    make: Callable[[], nn.Module]
    parameters: int = 0
    name: str = ""
    option: str = ""
    parts: tuple["Layer", ...] = ()


def linear(m: Dim, n: Dim, bias: bool = True) -> Layer:
    """Linear(m → n): m·n weights (+ n biases); its size comes from the wider side."""
    return Layer(lambda: nn.Linear(m.size, n.size, bias=bias),
                 m.size * n.size + (n.size if bias else 0), f"Linear({m.size} → {n.size})",
                 m.option if m.size > n.size else n.option)


def conv(dims: int, c_in: int, c_out: int, k: int, stride: int, padding: int) -> Layer:
    """Conv{dims}d(c_in → c_out, k): c_in·c_out·k^dims weights + c_out biases."""
    cls = nn.Conv2d if dims == 2 else nn.Conv1d
    return Layer(lambda: cls(c_in, c_out, k, stride=stride, padding=padding),
                 c_in * c_out * k ** dims + c_out, f"Conv{dims}d({c_in} → {c_out}, kernel {k})",
                 "channels")


def norm(dims: int, n: Dim) -> Layer:
    """BatchNorm over n features: a scale and a shift each (2n)."""
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return Layer(lambda: cls(n.size), 2 * n.size, f"BatchNorm({n.size})", n.option)


def free(cls: Callable[..., nn.Module], *args: Any) -> Layer:
    """A layer without parameters (activation, pooling, dropout, reshaping): ``cls(*args)``."""
    return Layer(partial(cls, *args))


def residual(block: Sequence[Layer], proj: Layer | None) -> Layer:
    """h ↦ P(h) + f(h), f the ``block`` in sequence, P ``proj`` (the identity if None)."""
    parts = tuple(block) + ((proj,) if proj is not None else ())
    return Layer(lambda: nn.Residual(build(block), None if proj is None else proj.make()),
                 parts=parts)


def build(plan: Sequence[Layer]) -> nn.Sequential:
    """The plan's layers, built, in sequence."""
    return nn.Sequential(*(layer.make() for layer in plan))


def walk(plan: Sequence[Layer]) -> Iterator[Layer]:
    """Every layer of the plan, nested parts included, in order."""
    for layer in plan:
        yield layer
        yield from walk(layer.parts)
