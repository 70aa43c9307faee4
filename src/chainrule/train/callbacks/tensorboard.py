"""TensorBoard event files: each epoch's numbers as scalars, and now and then a histogram of
every parameter and its gradient. View them with ``tensorboard --logdir DIR``.

Needs tensorboardX (``pip install 'chainrule[tensorboard]'``), imported only when a
:class:`TensorBoard` callback is made.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..history import SPLITS
from .base import Callback

__all__ = ["TensorBoard", "scalar_tag"]

EVENT_PREFIX = "events.out.tfevents."


def scalar_tag(key: str) -> str:
    """The TensorBoard tag of a History key: a split's measure goes under the measure's name,
    so TensorBoard shows one section per measure (``val_loss`` -> ``loss/val``,
    ``train_error_rate`` -> ``error_rate/train``); other keys keep their name (``lr``,
    ``epoch_seconds``, ``samples_per_second``)."""
    for split in SPLITS:
        if key.startswith(split + "_"):
            return f"{key[len(split) + 1:]}/{split}"
    return key


def _numbers(row: dict) -> Iterator[tuple[str, float]]:
    for key, value in row.items():
        if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
            yield key, float(value)


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("TensorBoard: the callback writes through tensorboardX, which is not "
                          "installed; install the tensorboard extra: "
                          "pip install 'chainrule[tensorboard]'") from None
    return SummaryWriter


def _named_parameters(model: Any) -> Iterator[tuple[str, Any]]:
    named = getattr(model, "named_parameters", None)
    if callable(named):
        yield from named()
    else:
        yield from ((f"param{i}", p) for i, p in enumerate(model.parameters()))


class TensorBoard(Callback):
    """Write TensorBoard logs into ``log_dir``.

    After every epoch, at step = the epoch number, each number of its History row (the
    ``logs`` of ``on_epoch_end``) is a scalar tagged by :func:`scalar_tag`: the loss, accuracy
    and error rate of each split (``loss/train``, ``accuracy/val``, ``error_rate/test``), the
    running loss, the learning rate in force during the epoch (``lr``, group 0's) and the
    timings. With ``histogram_every=k > 0``, every k-th epoch also gets a histogram of each
    parameter (``parameters/NAME``, names from ``named_parameters``) and of its gradient
    (``gradients/NAME``: the last minibatch's gradient); NaN and ±inf are left out of them.

    Each run starts with TensorBoard's purge marker at the first epoch it trains, so events of
    later epochs left in ``log_dir`` — by an earlier run, or by the interrupted run a resume
    redoes — are dropped from view instead of drawn twice. A resumed run whose ``log_dir`` holds
    no events yet first writes the scalars of the epochs in its checkpoint's history. The file
    is flushed after every epoch and closed when training ends or is interrupted.
    """

    order = 70  # with the loggers: after schedules and early stopping, before checkpoints
    rank_zero_only = True  # under mpiexec: only rank 0 prints and writes

    def __init__(self, log_dir: str | os.PathLike, histogram_every: int = 0):
        if isinstance(histogram_every, bool) or not isinstance(histogram_every, int) or \
                histogram_every < 0:
            raise ValueError(f"TensorBoard: histogram_every must be a non-negative integer "
                             f"(0: no histograms), got {histogram_every!r}")
        self.log_dir = Path(log_dir)
        self._check_folder()
        self.histogram_every = histogram_every
        self._writer_class = _summary_writer()
        self.writer = None

    def _check_folder(self) -> None:
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise NotADirectoryError(f"TensorBoard: log_dir {str(self.log_dir)!r} exists and "
                                     "is not a folder")

    def on_train_begin(self, trainer) -> None:
        self.close()
        self._check_folder()
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"TensorBoard: cannot make the log folder {str(self.log_dir)!r} "
                          f"({exc.strerror or exc})") from None
        fresh_folder = not any(p.name.startswith(EVENT_PREFIX) for p in self.log_dir.iterdir())
        first = int(trainer.epoch) + 1
        # tensorboardX names the file by the second and the host, and opens it with "wb": a
        # second run within the same second would overwrite the first's file. The nanosecond
        # suffix keeps names unique and in the order TensorBoard reads them (sorted).
        self.writer = self._writer_class(logdir=str(self.log_dir), purge_step=first,
                                         filename_suffix=f".{time.time_ns()}")
        if fresh_folder:
            for row in trainer.history:
                if isinstance(row.get("epoch"), int) and row["epoch"] < first:
                    self._scalars(row, row["epoch"])
        self.writer.flush()

    def _scalars(self, row: dict, step: int) -> None:
        for key, value in _numbers(row):
            self.writer.add_scalar(scalar_tag(key), value, step)

    def _histogram(self, tag: str, array: Any, step: int) -> None:
        values = np.asarray(array, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        if values.size:
            self.writer.add_histogram(tag, values, step)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.writer is None:
            return
        self._scalars(logs, epoch)
        if self.histogram_every and epoch % self.histogram_every == 0:
            for name, p in _named_parameters(trainer.model):
                self._histogram(f"parameters/{name}", p._data, epoch)
                if p.grad is not None:
                    self._histogram(f"gradients/{name}", p.grad._data, epoch)
        self.writer.flush()

    def on_interrupt(self, trainer) -> None:
        self.close()

    def on_train_end(self, trainer) -> None:
        self.close()

    def close(self) -> None:
        """Flush and close the event file (training calls this at its end)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()
