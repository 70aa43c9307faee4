"""Metrics accumulated over the batches of one pass through a data set.

The notes' measures for classification: error rate = (1/N) Σᵢ 1[ŷᵢ ≠ yᵢ] and
accuracy = 1 − error rate, with ŷ the predicted class. A metric sees each batch's raw NumPy
output and target (no autograd) and reports a dict of numbers at the end of the pass.
Write your own by subclassing :class:`Metric` or by passing a function ``f(output, target)``
(NumPy arrays in, a number out; averaged over the samples).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["Metric", "Accuracy", "FunctionMetric", "resolve_metrics"]


class Metric:
    """Base class: ``reset()`` before a pass, ``update(output, target)`` per batch (NumPy
    arrays), ``compute()`` → ``{name: value}`` after it."""

    name = "metric"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        raise NotImplementedError


def predicted_classes(output: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """ŷ: the arg-max over the class axis (axis 1) when there is one, else 1[output > threshold]
    for one score per sample (a logit: threshold 0; a probability: pass 0.5)."""
    if output.ndim >= 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    flat = output.reshape(output.shape[0], *output.shape[2:]) if output.ndim >= 2 else output
    return (flat > threshold).astype(np.int64)


class Accuracy(Metric):
    """accuracy = (1/N) Σᵢ 1[ŷᵢ = yᵢ] and error_rate = 1 − accuracy.

    Targets are class indices of shape ``output.shape`` without axis 1, or class
    probabilities / one-hot rows of the output's shape (their arg-max is the class). For one
    score per sample, targets are 0/1 (ints or floats) and ŷ = 1[output > threshold].
    """

    name = "accuracy"

    def __init__(self, threshold: float = 0.0):
        self.threshold = float(threshold)
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        output, target = np.asarray(output), np.asarray(target)
        pred = predicted_classes(output, self.threshold)
        multiclass = output.ndim >= 2 and output.shape[1] > 1
        if multiclass and target.shape == output.shape and target.dtype.kind == "f":
            target = target.argmax(axis=1)  # soft labels / one-hot
        elif not multiclass and target.ndim == output.ndim and output.ndim >= 2:
            target = target.reshape(pred.shape) if target.size == pred.size else target
        if target.dtype.kind == "f":
            if not np.all((target == 0) | (target == 1)):
                bad = target[(target != 0) & (target != 1)].flat[0]
                raise ValueError(f"accuracy: targets look like regression values "
                                 f"({target.dtype}, e.g. {bad!r}); accuracy needs class labels "
                                 f"— pass metrics=() for regression")
            target = target.astype(np.int64)
        if target.shape != pred.shape:
            raise ValueError(f"accuracy: output of shape {output.shape} gives predictions of "
                             f"shape {pred.shape}, but the targets have shape {target.shape}")
        self.correct += int(np.count_nonzero(pred == target))
        self.count += int(pred.size)

    def compute(self) -> dict[str, float]:
        if self.count == 0:
            return {"accuracy": float("nan"), "error_rate": float("nan")}
        acc = self.correct / self.count
        return {"accuracy": acc, "error_rate": 1.0 - acc}


class FunctionMetric(Metric):
    """A function ``f(output, target) -> number`` per batch, averaged over the samples
    (each batch weighted by its size)."""

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], Any], name: str | None = None):
        if not callable(fn):
            raise TypeError(f"FunctionMetric: expected a callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "metric")
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        n = int(np.shape(output)[0]) if np.ndim(output) else 1
        self.total += float(self.fn(output, target)) * n
        self.count += n

    def compute(self) -> dict[str, float]:
        return {self.name: self.total / self.count if self.count else float("nan")}


_NAMED = {"accuracy": Accuracy, "acc": Accuracy, "error_rate": Accuracy}


def resolve_metrics(spec: Iterable | str | Metric | None) -> list[Metric]:
    """Metric objects from names (``'accuracy'``, alias ``'error_rate'``), :class:`Metric`
    instances and plain functions."""
    if spec is None:
        return []
    if isinstance(spec, (str, Metric)) or callable(spec):
        spec = [spec]
    out: list[Metric] = []
    for item in spec:
        if isinstance(item, Metric):
            out.append(item)
        elif isinstance(item, str):
            if item not in _NAMED:
                raise ValueError(f"metrics: unknown metric {item!r}; known: "
                                 f"{sorted(_NAMED)}, or pass a Metric or a function")
            out.append(_NAMED[item]())
        elif callable(item):
            out.append(FunctionMetric(item))
        else:
            raise TypeError(f"metrics: expected names, Metric objects or functions, got "
                            f"{type(item).__name__}")
    names = [type(m).__name__ if isinstance(m, Accuracy) else m.name for m in out]
    if len(set(names)) != len(names):
        raise ValueError(f"metrics: the same metric is listed twice: {names}")
    return out
