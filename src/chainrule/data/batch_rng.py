"""Random draws keyed by the global batch, so a data-parallel run does not depend on its size.

While ``fit`` runs a training step it makes a :class:`GlobalBatch` current: the run's seed,
the step number, how many samples the *global* batch has and which of its rows this process
holds (rank r of N holds rows r, r+N, r+2N, ...). A per-example random choice — a dropout
mask — then draws the array for the whole global batch from the step's generator, seeded by
(seed, step) and drawn from in call order (every rank makes the same calls in the same order),
and keeps this process's rows. One process (N = 1) keeps every row, so 1, 2 or N processes apply the same masks to the
same samples. Outside ``fit`` (no batch current) draws come from chainrule's default generator.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GlobalBatch", "current", "activate", "deactivate"]

_state: dict[str, Any] = {"batch": None}


class GlobalBatch:
    """This step's global batch: ``global_size`` samples, of which this process holds the
    rows ``rows`` (a slice), drawn for from the stream of (seed, step)."""

    __slots__ = ("seed", "step", "global_size", "rows", "local_size", "_gen", "borrowed")

    def __init__(self, seed: int, step: int, global_size: int, rank: int = 0, world: int = 1,
                 local_size: int | None = None):
        self.seed, self.step, self.global_size = int(seed), int(step), int(global_size)
        self.rows = slice(rank, None, world) if world > 1 else slice(None)
        n = len(range(rank, global_size, world)) if world > 1 else global_size
        self.local_size = n if local_size is None else int(local_size)
        if self.local_size != n:     # a process with no row of its own borrows the first
            self.rows = slice(0, self.local_size)
        self._gen = None
        self.borrowed = False    # True: this process's rows are a stand-in (it holds none)

    def generator(self) -> np.random.Generator:
        """The step's generator: PCG64 of the SeedSequence (seed, step), built on first use
        (~14 µs) — a step without random draws pays nothing."""
        if self._gen is None:
            self._gen = np.random.Generator(np.random.PCG64(
                np.random.SeedSequence([self.seed, self.step, 0xD50])))
        return self._gen

    def uniform(self, shape: tuple, dtype) -> np.ndarray | None:
        """U[0, 1) numbers for an array of ``shape`` whose first axis is this process's rows
        of the global batch: drawn for all ``global_size`` rows, this process's kept. None when
        the first axis is not the batch's (the caller then draws as usual)."""
        if not shape or shape[0] != self.local_size:
            return None
        full = self.generator().random((self.global_size,) + tuple(shape[1:]), dtype=dtype)
        return full[self.rows] if self.rows != slice(None) else full


def current() -> GlobalBatch | None:
    """The global batch of the training step under way, or None."""
    return _state["batch"]


def activate(batch: GlobalBatch | None) -> None:
    """Make ``batch`` current (None: none)."""
    _state["batch"] = batch


def deactivate() -> None:
    _state["batch"] = None
