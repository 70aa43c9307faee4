"""A tqdm progress bar per epoch with the running mean of the minibatch losses, and a summary
line per epoch. Silent when the output is not a terminal (logs, pipes, CI) or when asked.

tqdm is optional (``pip install 'chainrule[progress]'``): without it only the summary lines
are printed.
"""
from __future__ import annotations

import sys
from typing import IO, Any

from .base import Callback

__all__ = ["ProgressBar", "format_epoch"]


def _num(value: Any, percent: bool = False) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return f"{100 * value:.2f}%" if percent else f"{value:.4g}"


def format_epoch(row: dict, epochs: int | None = None) -> str:
    """One line per epoch, grouped by split, e.g. ``epoch 3/20  train loss 0.41 err 12.50%
    (running 0.45) | val loss 0.52 err 15.00% | lr 0.01 | 0.84s 5120 samples/s``."""
    parts = [f"epoch {row.get('epoch')}" + (f"/{epochs}" if epochs else "")]
    for split in ("train", "val", "test"):
        bits = []
        if f"{split}_loss" in row:
            bits.append(f"loss {_num(row[f'{split}_loss'])}")
        if f"{split}_error_rate" in row:
            bits.append(f"err {_num(row[f'{split}_error_rate'], True)}")
        if split == "train" and "train_running_loss" in row:
            bits.append(f"(running {_num(row['train_running_loss'])})")
        if bits:
            parts.append(f"{split} " + " ".join(bits))
    if "lr" in row:
        parts.append(f"lr {_num(row['lr'])}")
    if "epoch_seconds" in row:
        timing = f"{row['epoch_seconds']:.2f}s"
        if isinstance(row.get("samples_per_second"), (int, float)):
            timing += f" {row['samples_per_second']:.0f} samples/s"
        parts.append(timing)
    return "  ".join(parts[:2]) + "".join(f" | {p}" for p in parts[2:])


class ProgressBar(Callback):
    """``ProgressBar()`` shows a bar when ``file`` (stdout) is a terminal; ``disable=True``
    silences it, ``disable=False`` forces it on any stream."""

    order = 90
    rank_zero_only = True  # under mpiexec: only rank 0 prints and writes

    def __init__(self, disable: bool | None = None, file: IO | None = None,
                 summary: bool = True):
        self.disable, self.file, self.summary = disable, file, summary
        self._bar = None
        self._tqdm = None
        self._on = False

    def _stream(self) -> IO:
        return self.file if self.file is not None else sys.stdout

    def on_train_begin(self, trainer) -> None:
        stream = self._stream()
        if self.disable is None:
            isatty = getattr(stream, "isatty", None)
            self._on = bool(isatty and isatty())
        else:
            self._on = not self.disable
        self._tqdm = None
        if self._on:
            try:
                from tqdm.auto import tqdm
                self._tqdm = tqdm
            except ImportError:  # summary lines only
                self._tqdm = None

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        if not (self._on and self._tqdm):
            return
        try:
            total = len(trainer.train_loader)
        except TypeError:
            total = None
        self._bar = self._tqdm(total=total, initial=trainer.resumed_batches,
                               desc=f"epoch {epoch}/{trainer.epochs}", unit="batch",
                               leave=False, file=self._stream(), dynamic_ncols=True)

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(f"loss {trainer.running_loss:.4f}", refresh=False)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self._close()
        if self._on and self.summary:
            line = format_epoch(logs, trainer.epochs)
            if self._tqdm is not None:
                self._tqdm.write(line, file=self._stream())
            else:
                print(line, file=self._stream(), flush=True)

    def on_interrupt(self, trainer) -> None:
        self._close()
        if self._on:
            print(f"interrupted in epoch {trainer.epoch + 1}; stopping after this batch",
                  file=self._stream(), flush=True)

    def on_train_end(self, trainer) -> None:
        self._close()
