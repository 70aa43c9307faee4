"""Learning-rate scheduling as a callback: step a scheduler per batch, per epoch, or on a
plateau of a monitored measure (``chainrule.optim.lr_scheduler.ReduceLROnPlateau``)."""
from __future__ import annotations

from typing import Any

from .base import Callback
from .monitor import Monitor, auto_mode

__all__ = ["LRSchedulerCallback"]


def _is_plateau(scheduler: Any) -> bool:
    from ...optim.lr_scheduler import ReduceLROnPlateau
    return isinstance(scheduler, ReduceLROnPlateau)


def _plateau_monitor(scheduler: Any, monitor: str | None) -> Monitor:
    """The measure a ReduceLROnPlateau is stepped with: by default ``val_loss`` for
    ``mode='min'`` and ``val_accuracy`` for ``mode='max'``. A measure that plainly goes the
    other way (a loss or error rate under 'max', an accuracy under 'min') is refused, since the
    scheduler would then cut the rate while the run improves."""
    mode = scheduler.mode
    if monitor is None:
        monitor = "val_loss" if mode == "min" else "val_accuracy"
    natural = auto_mode(monitor)
    known = natural == "max" or "loss" in monitor or "error" in monitor
    if known and natural != mode:
        raise ValueError(f"LRSchedulerCallback: ReduceLROnPlateau(mode={mode!r}) would be "
                         f"stepped with {monitor!r}, which improves when it "
                         f"{'rises' if natural == 'max' else 'falls'}; pass monitor= a measure "
                         f"that fits, or build the scheduler with mode={natural!r}")
    return Monitor(monitor, mode, 0.0, "LRSchedulerCallback")


class LRSchedulerCallback(Callback):
    """Call ``scheduler.step()`` after every optimizer step (``interval='step'``) or after every
    epoch (``'epoch'``, the default, as in PyTorch's examples). A ``ReduceLROnPlateau`` is
    stepped once per epoch with the value of ``monitor`` (by default ``val_loss`` for its
    ``mode='min'`` and ``val_accuracy`` for ``mode='max'``, falling back to the ``train_``
    measure without validation data). The learning rate used in an epoch is logged as
    ``lr`` by the trainer."""

    order = 10

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str | None = None,
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
        self.monitor = _plateau_monitor(scheduler, monitor) if self.plateau else None

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
