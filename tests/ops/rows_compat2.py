"""Op-table rows for the PyTorch-compatibility ops of issue #18 (part 2, the blind program run):
remainder/fmod and ``%`` (gradient 1 for the dividend, −⌊x/y⌋ or −trunc(x/y) for the divisor),
round(decimals=), trunc, atan2, expm1, log2, diag (both directions, diagonal=), median (all
elements, and along a dim with indices), hstack/vstack, addcmul/addcdiv.

Remainder inputs keep x/y a safe distance from every integer (where the remainder jumps): x is
an integer plus a fraction in [0.1, 0.9] and y is ±1 or ±2.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

import chainrule as cr
from tests.optable import Op, MAX_SIDE, unary, broadcast, reduce_dims


def _dividend_divisor(rng, shapes, dtype):
    x = rng.integers(-4, 5, shapes[0]) + rng.uniform(0.1, 0.9, shapes[0])
    y = rng.choice([-2.0, -1.0, 1.0, 2.0], shapes[1])
    return [np.asarray(x, dtype), np.asarray(y, dtype)]


def _near_integers(scale):
    """Values within 0.3/scale of a multiple of 1/scale: away from round's jumps at halves."""
    def draw(rng, shape):
        return (rng.integers(-4, 5, shape) + rng.uniform(-0.3, 0.3, shape)) / scale
    return draw


def _off_integers(rng, shape):
    return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def _away_from_zero(rng, shapes, dtype):
    return [np.asarray(rng.choice([-1.0, 1.0], s) * rng.uniform(0.3, 2.0, s), dtype)
            for s in shapes]


@st.composite
def _diag(draw):
    k = draw(st.integers(-2, 2))
    if draw(st.booleans()):
        return [(draw(st.integers(1, MAX_SIDE)),)], {"diagonal": k}
    return [(draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE)))], {"diagonal": k}


@st.composite
def _stackable(draw, vertical: bool):
    n, a, b = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    if draw(st.booleans()):                      # vectors: joined end to end / as rows
        return ([(n,), (n,)] if vertical else [(a,), (b,)]), {}
    return ([(a, n), (b, n)] if vertical else [(n, a), (n, b)]), {}


ROWS = [
    Op("remainder", cr.remainder, torch.remainder, broadcast(2), make=_dividend_divisor),
    Op("fmod", cr.fmod, torch.fmod, broadcast(2), make=_dividend_divisor),
    Op("mod_operator", lambda a, b: a % b, lambda a, b: a % b, broadcast(2),
       make=_dividend_divisor),
    Op("remainder_scalar", lambda a: a % 1.5, lambda a: a % 1.5, unary(),
       domain=lambda rng, s: rng.integers(-3, 4, s) * 1.5 + rng.uniform(0.1, 1.4, s)),
    Op("rmod_scalar", lambda b: 5.5 % b, lambda b: 5.5 % b, unary(),
       domain=lambda rng, s: rng.choice([-2.0, -1.0, 1.0, 2.0], s), grad=False),  # torch: no derivative
    Op("round", cr.round, torch.round, unary(), domain=_near_integers(1)),
    Op("round_decimals", cr.round, torch.round, unary(decimals=2), domain=_near_integers(100)),
    Op("round_method", lambda x: x.round(decimals=1), lambda x: x.round(decimals=1), unary(),
       domain=_near_integers(10)),
    Op("trunc", cr.trunc, torch.trunc, unary(), domain=_off_integers),
    Op("fix", cr.fix, torch.fix, unary(), domain=_off_integers),
    Op("atan2", cr.atan2, torch.atan2, broadcast(2), make=_away_from_zero, tags=("gradgrad",)),
    Op("arctan2_method", lambda a, b: a.arctan2(b), lambda a, b: a.arctan2(b), broadcast(2),
       make=_away_from_zero),
    Op("expm1", cr.expm1, torch.expm1, unary(), tags=("gradgrad",)),
    Op("log2", cr.log2, torch.log2, unary(), domain="positive", tags=("gradgrad",)),
    Op("diag", cr.diag, torch.diag, _diag()),
    Op("diag_method", lambda x, **kw: x.diag(**kw), lambda x, **kw: x.diag(**kw), _diag()),
    Op("median", cr.median, torch.median, reduce_dims(multi=False), domain="distinct"),
    Op("median_method", lambda x, **kw: x.median(**kw), lambda x, **kw: x.median(**kw),
       reduce_dims(multi=False), domain="distinct"),
    Op("median_all_ties", cr.median, torch.median, unary(min_dims=1), domain="ties",
       gradcheck=False),  # finite differences step across the ties; torch agreement checks it
    Op("hstack", lambda *xs: cr.hstack(xs), lambda *xs: torch.hstack(xs), _stackable(False)),
    Op("vstack", lambda *xs: cr.vstack(xs), lambda *xs: torch.vstack(xs), _stackable(True)),
    Op("addcmul", cr.addcmul, torch.addcmul, broadcast(3, value=0.5)),
    Op("addcdiv", cr.addcdiv, torch.addcdiv, broadcast(3, value=-2.0), make=_away_from_zero),
    Op("addcmul_method", lambda a, b, c: a.addcmul(b, c), lambda a, b, c: a.addcmul(b, c),
       broadcast(3)),
]
