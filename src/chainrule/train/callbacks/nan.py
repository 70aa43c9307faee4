"""TerminateOnNaN: stop as soon as a minibatch loss is NaN or infinite (a diverging run)."""
from __future__ import annotations

import math

from .base import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training (``history.stop_reason == 'nan'``) after the first batch whose loss is not
    finite; the epoch in progress is not recorded."""

    order = 5

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        if not math.isfinite(logs["loss"]):
            trainer.stop("nan", immediately=True)
