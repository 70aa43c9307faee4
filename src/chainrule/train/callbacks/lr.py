"""Learning-rate scheduling as a callback: step a scheduler per batch, per epoch, or on a
plateau of a monitored measure (``chainrule.optim.lr_scheduler.ReduceLROnPlateau``)."""
from __future__ import annotations

from typing import Any

from .base import Callback
from .monitor import Monitor

__all__ = ["LRSchedulerCallback"]


def _is_plateau(scheduler: Any) -> bool:
    from ...optim.lr_scheduler import ReduceLROnPlateau
    return isinstance(scheduler, ReduceLROnPlateau)


class LRSchedulerCallback(Callback):
    """Call ``scheduler.step()`` after every optimizer step (``interval='step'``) or after every
    epoch (``'epoch'``, the default, as in PyTorch's examples). A ``ReduceLROnPlateau`` is
    stepped once per epoch with the value of ``monitor`` (``val_loss`` by default, falling back
    to ``train_loss`` without validation data). The learning rate used in an epoch is logged as
    ``lr`` by the trainer."""

    order = 10

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str = "val_loss",
                 save_state: bool = True):
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"LRSchedulerCallback: expected a learning-rate scheduler, got "
                            f"{type(scheduler).__name__}")
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got "
                             f"{interval!r}")
        self.scheduler = scheduler
        self.plateau = _is_plateau(scheduler)
        if self.plateau and interval != "epoch":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch on a "
                             "monitored value; use interval='epoch'")
        self.interval = interval
        self.save_state = save_state
        self.monitor = Monitor(monitor, "min", 0.0, "LRSchedulerCallback") if self.plateau \
            else None

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.interval != "epoch":
            return
        if self.plateau:
            self.scheduler.step(self.monitor.value(logs))
        else:
            self.scheduler.step()

    def state_dict(self) -> dict:
        # fit(scheduler=...) makes this callback with save_state=False: the checkpoint then
        # keeps the scheduler's state under its own key "scheduler".
        return {"scheduler": self.scheduler.state_dict()} if self.save_state else {}

    def load_state_dict(self, state: dict) -> None:
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
