"""Parameters seen as one flat vector θ — what the second-order optimizers (LBFGS, NewtonCG) work
on: moving along a direction, saving and restoring θ for line searches."""
from __future__ import annotations

from typing import Sequence


def add_step(params: Sequence, t: float, d) -> None:
    """θ ← θ + t·d, where ``d`` is flat and its slices follow ``params`` in order."""
    offset = 0
    for p in params:
        n = p._data.size
        p._data += t * d[offset:offset + n].reshape(p._data.shape)
        p._bump_version()
        offset += n


def copy_params(params: Sequence) -> list:
    """A copy of every parameter's values (to restore after a rejected line-search step)."""
    return [p._data.copy() for p in params]


def set_params(params: Sequence, arrays: list) -> None:
    """Write back values taken with :func:`copy_params`."""
    for p, a in zip(params, arrays):
        p._data[...] = a
        p._bump_version()
