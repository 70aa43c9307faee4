"""EarlyStopping: stop when the monitored validation measure has stopped improving.

The notes' rule against overfitting: training loss keeps falling while validation loss turns
up; stop after ``patience`` epochs without an improvement of more than ``min_delta`` and
(optionally) go back to the weights of the best epoch.
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .base import Callback
from .monitor import Monitor

__all__ = ["EarlyStopping"]


def _copy_state(model) -> dict:
    return {k: np.array(v._data if isinstance(v, Tensor) else v, copy=True)
            for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs in which ``monitor`` did not improve by more than
    ``min_delta``; with ``restore_best_weights`` the model gets the best epoch's weights back
    when training ends (after an early stop or the last epoch — not after Ctrl-C, so an
    interrupted run can be resumed from where it was)."""

    order = 20

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 5,
                 min_delta: float = 0.0, restore_best_weights: bool = True):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer, got "
                             f"{patience!r}")
        self.monitor = Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self.best = self.monitor.initial()
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: dict | None = None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        current = self.monitor.value(logs)
        if self.monitor.improved(current, self.best):
            self.best, self.best_epoch, self.wait = float(current), epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_state(trainer.model)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                trainer.stop("early_stopping")
        logs["best_epoch"] = self.best_epoch

    def on_train_end(self, trainer) -> None:
        if getattr(trainer, "interrupted", False) or not self.restore_best_weights:
            return
        if self.best_weights is not None and self.best_epoch != trainer.epoch:
            trainer.model.load_state_dict({k: Tensor(v) for k, v in self.best_weights.items()})
            trainer.restored_epoch = trainer.history.restored_epoch = self.best_epoch

    def state_dict(self) -> dict:
        state = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                 "stopped_epoch": self.stopped_epoch}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else {
            k: np.array(v._data if isinstance(v, Tensor) else v, copy=True)
            for k, v in weights.items()}
