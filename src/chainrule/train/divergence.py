"""When a run has diverged: a non-finite minibatch loss, or one that grew by orders of
magnitude over where training started.

One constant decides it, :data:`DIVERGENCE_FACTOR`: a run has diverged when a minibatch loss
L_t satisfies L_t > DIVERGENCE_FACTOR · L_1, where L_1 is the loss of the run's first minibatch
(computed before any update, so a learning rate that blows up on the first step cannot inflate
it). A loss that rises ten-thousandfold is no noisy step of a working run — cross-entropy
starting at ln 10 ≈ 2.3 would have to reach 2.3e4 — so normal runs never trip it, while a
learning rate far too large (``--lr 1e6`` with Adam gives losses around 1e19) is stopped at
once.
"""
from __future__ import annotations

import math

from .callbacks.base import Callback

__all__ = ["DIVERGENCE_FACTOR", "has_diverged", "TerminateOnDivergence"]

DIVERGENCE_FACTOR = 1e4


def has_diverged(loss: float, reference: float | None,
                 factor: float = DIVERGENCE_FACTOR) -> bool:
    """True when ``loss`` is NaN/±inf, or above ``factor · reference`` (for a positive
    ``reference``; a zero or missing one gives no relative test)."""
    if not math.isfinite(loss):
        return True
    return reference is not None and reference > 0 and loss > factor * reference


class TerminateOnDivergence(Callback):
    """Stop training after the first minibatch whose loss has diverged (see
    :func:`has_diverged`, the reference being the first minibatch's loss);
    ``history.stop_reason`` is ``'nan'`` for a non-finite loss (as
    :class:`~chainrule.train.TerminateOnNaN`) and ``'diverged'`` for a finite one that grew
    past ``factor`` times the reference. The epoch in progress is not recorded. The reference
    is kept in checkpoints, so a resumed run compares with the start of the original run.
    ``last_loss`` and ``reference`` say what tripped it."""

    order = 5

    def __init__(self, factor: float = DIVERGENCE_FACTOR):
        if not factor > 1:
            raise ValueError(f"TerminateOnDivergence: factor must be above 1, got {factor!r}")
        self.factor = factor
        self.reference: float | None = None
        self.last_loss: float | None = None

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        loss = float(logs["loss"])
        self.last_loss = loss
        if not math.isfinite(loss):
            trainer.stop("nan", immediately=True)
            return
        if self.reference is None:
            self.reference = loss
        elif has_diverged(loss, self.reference, self.factor):
            trainer.stop("diverged", immediately=True)

    def state_dict(self) -> dict:
        return {"reference": self.reference} if self.reference is not None else {}

    def load_state_dict(self, state: dict) -> None:
        ref = state.get("reference")
        self.reference = float(ref) if ref is not None else None
