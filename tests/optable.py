"""The op table harness: one row per op, three checks per row.

Each :class:`Op` names a chainrule function, its PyTorch counterpart, a hypothesis strategy for
its input shapes (and keyword arguments), and the domain its inputs are drawn from. The tests in
``tests/ops/test_op_table.py`` run, for every row: finite-difference gradcheck in float64, and
agreement with PyTorch (forward and backward, float32 and float64) on hypothesis-drawn shapes.
A new op is a new row in one of the ``tests/ops/rows_*.py`` modules, not a new test file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_SIDE = 4


@dataclass(frozen=True)
class Op:
    name: str
    cr: Callable                     # chainrule: cr(*tensors, **kwargs)
    torch: Callable                  # PyTorch:   torch(*tensors, **kwargs)
    shapes: Any                      # strategy of (list of input shapes, kwargs dict)
    domain: Any = "real"             # real | positive | unit | kinkfree | distinct | ties, or
    #                                  a value maker domain(rng, shape) -> array (see ``at``)
    make: Callable | None = None     # custom: make(rng, shapes, dtype) -> list of arrays
    nondiff: tuple = ()              # positions of inputs that get no gradient
    grad: bool = True                # False: forward-only comparison (e.g. argmax)
    gradcheck: bool = True
    rtol32: float = 1e-4
    atol32: float = 1e-4
    tags: tuple = field(default_factory=tuple)   # "gradgrad": also compare second derivatives

    def __str__(self) -> str:
        return self.name


# -- shape strategies ------------------------------------------------------------------------------
def unary(min_dims: int = 0, max_dims: int = 3, **kwargs) -> st.SearchStrategy:
    """One input of any small shape; ``kwargs`` are fixed keyword arguments."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1,
                            max_side=MAX_SIDE).map(lambda s: ([s], dict(kwargs)))


def broadcast(n: int = 2, **kwargs) -> st.SearchStrategy:
    """``n`` inputs whose shapes broadcast together (NumPy's rules)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3, min_side=1,
                                             max_side=MAX_SIDE).map(
        lambda b: (list(b.input_shapes), dict(kwargs)))


@st.composite
def reduce_dims(draw, keepdim: bool | None = None, multi: bool = True, allow_none: bool = True,
                dim_kw: str = "dim", keep_kw: str = "keepdim", min_dims: int = 1):
    """One input and a dim (int, tuple, or None) to reduce over, plus keepdim."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=MAX_SIDE))
    n = len(shape)
    choices = [st.integers(-n, n - 1)]
    if multi and n > 1:
        choices.append(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)
                       .map(tuple))
    if allow_none:
        choices.append(st.none())
    dim = draw(st.one_of(*choices))
    kw = {dim_kw: dim} if dim is not None else {}
    if keep_kw and dim is not None:
        kw[keep_kw] = draw(st.booleans()) if keepdim is None else keepdim
    return [shape], kw


@st.composite
def matmul_shapes(draw):
    """Two shapes valid for matmul: 1-D, 2-D and batched, with broadcasting batch dims."""
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "bmm", "bcast"]))
    b = draw(st.integers(1, 3))
    return {
        "vv": [(k,), (k,)], "vm": [(k,), (k, m)], "mv": [(n, k), (k,)], "mm": [(n, k), (k, m)],
        "bmm": [(b, n, k), (b, k, m)], "bcast": [(b, 1, n, k), (2, k, m)],
    }[kind], {}


# -- values ------------------------------------------------------------------------------------------
def at(*points: float, spread: float = 1.0) -> Callable:
    """A domain whose elements sit exactly at ``points`` (an op's switch points: kinks,
    thresholds, bounds) more often than not, the rest standard normal times ``spread``. The
    points must be exact in float32, so both dtypes put the same value on the switch."""
    def draw(rng, shape):
        a = rng.standard_normal(shape) * spread
        hit = rng.random(shape) < 0.6
        return np.where(hit, rng.choice(np.asarray(points, float), shape), a)
    draw.__name__ = f"at{points}"
    return draw


def values(rng: np.random.Generator, shape: tuple, dtype, domain) -> np.ndarray:
    if callable(domain):
        a = domain(rng, shape)
    elif domain == "ties":  # small integers: equal values (ties for max, sort, clamp) are common
        a = rng.integers(-2, 3, shape)
    elif domain == "positive":
        a = rng.uniform(0.5, 2.0, shape)
    elif domain == "unit":
        a = rng.uniform(-0.9, 0.9, shape)
    elif domain == "kinkfree":  # away from 0, where relu/abs/clamp have kinks
        a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    elif domain == "distinct":  # no ties (max/min/sort), spaced wider than finite differences
        a = rng.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.1 + rng.uniform(
            0, 0.01, shape)
    else:
        a = rng.standard_normal(shape)
    return np.asarray(a, dtype=dtype)


def make_inputs(op: Op, rng, shapes, dtype) -> list:
    if op.make is not None:
        return op.make(rng, shapes, dtype)
    return [values(rng, s, dtype, op.domain) for s in shapes]


def with_empty_axis(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``strategy``'s shapes with one axis (counted from the right, as broadcasting aligns them)
    of size 0 in every input that has it at a size other than 1 (or in all, if all have 1): the
    shapes still broadcast and keyword arguments (dims) stay valid."""
    @st.composite
    def draw(draw_):
        shapes, kw = draw_(strategy.filter(lambda a: any(len(s) for s in a[0])))
        k = draw_(st.integers(1, max(len(s) for s in shapes)))
        sized = [s for s in shapes if len(s) >= k and s[-k] != 1]

        def zeroed(s):
            if len(s) < k or (sized and s[-k] == 1):
                return tuple(s)
            return tuple(0 if i == len(s) - k else n for i, n in enumerate(s))
        return [zeroed(s) for s in shapes], kw
    return draw()
