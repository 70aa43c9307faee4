"""ModelCheckpoint: keep the best and the last training checkpoint on disk.

Each file is a full training checkpoint (:func:`chainrule.train.save_checkpoint`: weights,
optimizer, scheduler, RNG and loader state, history, epoch, callbacks' state and an optional
model configuration), written to a temporary name and renamed, so resuming from either is exact
and a crash never leaves half a file where a good one was.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import Callback
from .monitor import Monitor

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Write ``dirpath/last_name`` after every ``every`` epochs (and on Ctrl-C), and
    ``dirpath/best_name`` whenever ``monitor`` improves (by more than ``min_delta``).

    ``config`` (a JSON-able dict, e.g. the model's constructor arguments) is stored in both so
    a model can be rebuilt from the file alone. ``best_name=None`` or ``last_name=None`` turns
    that file off.
    """

    order = 80
    rank_zero_only = True  # under mpiexec: only rank 0 prints and writes

    def __init__(self, dirpath: str | os.PathLike, *, monitor: str = "val_loss",
                 mode: str = "auto", min_delta: float = 0.0,
                 best_name: str | None = "best.safetensors",
                 last_name: str | None = "last.safetensors", every: int = 1,
                 config: dict | None = None):
        if best_name is None and last_name is None:
            raise ValueError("ModelCheckpoint: best_name and last_name are both None: "
                             "nothing to write")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"ModelCheckpoint: every must be a positive integer, got {every!r}")
        self.dirpath = Path(dirpath)
        self.monitor = Monitor(monitor, mode, min_delta, "ModelCheckpoint")
        self.best_name, self.last_name, self.every = best_name, last_name, every
        self.config = config
        self.best = self.monitor.initial()
        self.best_epoch = 0

    @property
    def best_path(self) -> Path | None:
        return self.dirpath / self.best_name if self.best_name else None

    @property
    def last_path(self) -> Path | None:
        return self.dirpath / self.last_name if self.last_name else None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.best_name:
            current = self.monitor.value(logs)
            if self.monitor.improved(current, self.best):
                self.best, self.best_epoch = float(current), epoch
                trainer.save_checkpoint(self.best_path, config=self.config)
        if self.last_name and (epoch % self.every == 0 or trainer.stop_training
                               or epoch == trainer.epochs):
            trainer.save_checkpoint(self.last_path, config=self.config)

    def on_interrupt(self, trainer) -> None:
        if self.last_name:
            trainer.save_checkpoint(self.last_path, config=self.config)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
