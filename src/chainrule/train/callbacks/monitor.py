"""A monitored quantity (``val_loss``, ``val_accuracy`` ...) and what counts as improving."""
from __future__ import annotations

import math
import warnings

__all__ = ["Monitor"]


# measures that improve when they rise, recognised by a word of the name ("val_f1", "test_auc")
_HIGHER_IS_BETTER = {"f1", "auc", "auroc", "precision", "recall", "iou", "miou", "dice", "r2"}


def auto_mode(monitor: str) -> str:
    """'max' for accuracies (a name containing "acc") and the measures in
    ``_HIGHER_IS_BETTER`` (a word of the name split at "_"), 'min' for the rest (losses,
    error rates, MAE ...)."""
    words = monitor.lower().split("_")
    return "max" if "acc" in monitor or _HIGHER_IS_BETTER.intersection(words) else "min"


class Monitor:
    """Reads ``monitor`` from an epoch's logs and compares values.

    ``mode='auto'`` maximises accuracies and other higher-is-better measures (F1, AUC,
    precision, recall, IoU, Dice, R²; see :func:`auto_mode`) and minimises the rest.
    Improving means ``current < best − min_delta`` (min) or ``current > best + min_delta`` (max). When the logs
    have no ``val_…`` entry (no validation loader), the ``train_…`` counterpart is used, with a
    warning, so the same callback works with and without validation data.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float, who: str):
        if mode == "auto":
            mode = auto_mode(monitor)
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"{who}: min_delta must be a non-negative number, got "
                             f"{min_delta!r}")
        self.monitor, self.mode, self.min_delta, self.who = monitor, mode, float(min_delta), who
        self._warned = False

    def initial(self) -> float:
        return math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict) -> float | None:
        """The monitored value in ``logs`` (None when absent)."""
        if self.monitor in logs:
            return logs[self.monitor]
        if self.monitor.startswith("val_"):
            alt = "train_" + self.monitor[4:]
            if alt in logs:
                if not self._warned:
                    warnings.warn(f"{self.who}: no {self.monitor!r} in the logs (no validation "
                                  f"loader?); monitoring {alt!r} instead", stacklevel=2)
                    self._warned = True
                return logs[alt]
        raise KeyError(f"{self.who}: cannot monitor {self.monitor!r}: the epoch's logs have "
                       f"{sorted(logs)}")

    def improved(self, current: float, best: float) -> bool:
        if current is None or math.isnan(current):
            return False
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta
