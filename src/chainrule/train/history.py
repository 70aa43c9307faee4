"""History: what happened in each epoch, as a list of plain dicts (JSON as it stands).

Each row holds the epoch number (1-based), the learning rate, the running mean of the minibatch
losses (``train_running_loss``), the loss and metrics of a full pass over each split in eval
mode (``train_loss``, ``train_error_rate``, ``val_loss``, ``test_accuracy`` ...), wall times and
samples per second. ``history.best("val_loss")`` finds the best epoch.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

__all__ = ["History", "SPLITS"]

SPLITS = ("train", "val", "test")


def _plain(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars become Python numbers, tuples lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return value


def _usable(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        not math.isnan(value)


class History(list):
    """A list of per-epoch dicts with helpers. ``stop_reason`` says why training ended:
    ``None`` (all epochs ran), ``"early_stopping"``, ``"interrupted"``, ``"nan"`` or another
    reason a callback gave to ``trainer.stop``. ``restored_epoch`` is the epoch whose weights
    the model holds when early stopping restored its best weights (else None: the last)."""

    def __init__(self, rows: Iterable[dict] = (), stop_reason: str | None = None,
                 restored_epoch: int | None = None):
        super().__init__(_plain(dict(r)) for r in rows)
        self.stop_reason = stop_reason
        self.restored_epoch = restored_epoch

    def append(self, row: dict) -> None:  # type: ignore[override]
        if not isinstance(row, dict):
            raise TypeError(f"History.append: expected a dict per epoch, got "
                            f"{type(row).__name__}")
        super().append(_plain(row))

    # -- reading -------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """Every key that appears in some row, in order of first appearance."""
        seen: dict[str, None] = {}
        for row in self:
            for k in row:
                seen.setdefault(k, None)
        return list(seen)

    def series(self, key: str) -> list:
        """The value of ``key`` in every row (None where a row lacks it)."""
        return [row.get(key) for row in self]

    def best(self, monitor: str = "val_loss", mode: str = "min") -> dict:
        """The row with the lowest (``mode='min'``) or highest (``'max'``) ``monitor``; ties go
        to the earliest epoch and NaN never wins."""
        if mode not in ("min", "max"):
            raise ValueError(f"History.best: mode must be 'min' or 'max', got {mode!r}")
        rows = [r for r in self if _usable(r.get(monitor))]
        if not rows:
            raise KeyError(f"History.best: no epoch has a value for {monitor!r}; keys are "
                           f"{self.keys()}")
        pick = min if mode == "min" else max
        return pick(rows, key=lambda r: r[monitor])  # min/max keep the first of equal keys

    def best_epoch(self, monitor: str = "val_loss", mode: str = "min") -> int:
        """The epoch number of :meth:`best`."""
        return int(self.best(monitor, mode)["epoch"])

    def split(self, name: str, row: dict | None = None) -> dict:
        """One split's numbers without the prefix, e.g. ``{'loss': .., 'accuracy': ..,
        'error_rate': ..}`` for ``'val'`` from the last row (or ``row``)."""
        if row is None:
            if not self:
                return {}
            row = self[-1]
        prefix = f"{name}_"
        return {k[len(prefix):]: v for k, v in row.items()
                if k.startswith(prefix) and k not in (f"{name}_running_loss",
                                                      f"{name}_seconds")}

    def summary(self) -> dict:
        """The final numbers of a run: each split's measures at the epoch whose weights the
        model holds (``restored_epoch`` or the last), e.g. ``{'train': {'loss', 'accuracy',
        'error_rate'}, 'val': {...}, 'test': {...}, 'epoch': 7, 'epochs': 10, 'seconds': 4.2,
        'samples_per_second': 5100.0, 'stop_reason': None}``."""
        if not self:
            raise ValueError("History.summary: the history has no epochs")
        row = self[-1]
        if self.restored_epoch is not None:
            row = next((r for r in self if r.get("epoch") == self.restored_epoch), row)
        out: dict[str, Any] = {}
        for split in SPLITS:
            numbers = self.split(split, row)
            if numbers:
                out[split] = numbers
        times = [r.get("train_seconds") for r in self]
        rates = [r.get("samples_per_second") for r in self]
        pairs = [(t, v) for t, v in zip(times, rates) if _usable(t) and _usable(v)]
        train_time = sum(t for t, _ in pairs)
        out.update(epoch=row.get("epoch"), epochs=len(self),
                   seconds=sum(r.get("epoch_seconds", 0.0) for r in self),
                   samples_per_second=(sum(t * v for t, v in pairs) / train_time
                                       if train_time else None),
                   stop_reason=self.stop_reason)
        return out

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"epochs": [dict(r) for r in self], "stop_reason": self.stop_reason,
                "restored_epoch": self.restored_epoch}

    @classmethod
    def from_dict(cls, data: Any) -> "History":
        """Inverse of :meth:`to_dict`; a bare list of rows is accepted too."""
        if isinstance(data, History):
            return cls(data, data.stop_reason, data.restored_epoch)
        if isinstance(data, list):
            return cls(data)
        if not isinstance(data, dict) or not isinstance(data.get("epochs"), list):
            raise ValueError("History.from_dict: expected {'epochs': [...], 'stop_reason': ...}"
                             f" or a list of rows, got {type(data).__name__}")
        return cls(data["epochs"], data.get("stop_reason"), data.get("restored_epoch"))

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "History":
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        last = self[-1] if self else {}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in last.items() if k in ("epoch", "train_loss", "val_loss",
                                                            "val_error_rate"))
        return f"History({len(self)} epochs{'; last: ' + shown if shown else ''})"
