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

from ..data.checks import first_true_index

__all__ = ["Metric", "Accuracy", "FunctionMetric", "resolve_metrics", "predicted_classes",
           "class_targets"]


class Metric:
    """Base class: ``reset()`` before a pass, ``update(output, target)`` per batch (NumPy
    arrays), ``compute()`` → ``{name: value}`` after it. ``sum_fields`` names the attributes
    holding sums (counts, totals) that, added over the ranks of a data-parallel evaluation,
    make ``compute()`` the value over every rank's samples."""

    name = "metric"
    sum_fields: tuple[str, ...] | None = None

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        raise NotImplementedError


def predicted_classes(output: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """ŷ: the arg-max over the class axis (axis 1) when there is one, else 1[output > threshold]
    for one score per sample (a logit: threshold 0; a probability: pass 0.5). A sample whose
    scores hold a NaN predicts no class (−1), so it never counts as correct."""
    if output.ndim >= 2 and output.shape[1] > 1:
        pred = output.argmax(axis=1)
        if output.dtype.kind == "f":   # arg-max lands on a NaN if a sample has one: O(N) check
            chosen = np.take_along_axis(output, np.expand_dims(pred, 1), axis=1)
            pred[np.isnan(chosen[:, 0])] = -1
        return pred
    flat = output.reshape(output.shape[0], *output.shape[2:]) if output.ndim >= 2 else output
    pred = (flat > threshold).astype(np.int64)
    if flat.dtype.kind == "f":
        pred[np.isnan(flat)] = -1
    return pred


def class_targets(target: np.ndarray, classes: int, ignore_index: int | None,
                  who: str = "accuracy") -> np.ndarray:
    """``target`` as int64 class labels, checked: whole numbers in ``[0, classes)`` (or
    ``ignore_index``); a ValueError names the first bad value and its index."""
    if target.dtype.kind == "b":
        return target.astype(np.int64)
    if target.dtype.kind == "f":
        bad = ~np.isfinite(target) | (target != np.round(target))
        if bad.any():
            i = first_true_index(bad)
            raise ValueError(f"{who}: targets look like regression values ({np.dtype(target.dtype).name}, "
                             f"e.g. {target[i].item()!r} at index {i}); {who} needs class "
                             "labels — pass metrics=() for regression")
    elif target.dtype.kind not in "iu":
        raise TypeError(f"{who}: targets must be class labels (integers), got dtype "
                        f"{np.dtype(target.dtype).name}")
    labels = target.astype(np.int64, copy=False)
    bad = (labels < 0) | (labels >= classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        i = first_true_index(bad)
        expected = "0 or 1 for one score per sample" if classes == 2 else \
            f"0 <= label < {classes} (the size of the output's class axis 1)"
        hint = "" if ignore_index is not None else \
            "; to skip padding labels pass Accuracy(ignore_index=...)"
        raise ValueError(f"{who}: target {target[i].item()!r} at index {i} is not a class: "
                         f"expected {expected}{hint}")
    return labels


class Accuracy(Metric):
    """accuracy = (1/N) Σᵢ 1[ŷᵢ = yᵢ] and error_rate = 1 − accuracy, over every predicted
    position (all N·d₁·… of them for outputs of shape (N, C, d₁, …)).

    Shapes, with the class axis 1 as in PyTorch's losses: an output (N, C, *d) with C > 1 takes
    class indices (N, *d) in ``[0, C)`` or class probabilities / one-hot rows of the output's
    own shape (their arg-max is the class); one score per sample — (N,) or (N, 1, *d) — takes
    0/1 targets of shape (N, *d) or of the output's shape, and ŷ = 1[output > threshold].
    Labels equal to ``ignore_index`` are left out (as ``cross_entropy(ignore_index=)``); any
    other label outside the classes, a non-integer label or a shape that does not fit raises
    ValueError. A prediction from NaN scores is never correct.
    """

    name = "accuracy"

    def __init__(self, threshold: float = 0.0, ignore_index: int | None = None):
        self.threshold = float(threshold)
        self.ignore_index = ignore_index
        self.reset()

    sum_fields = ("correct", "count")   # summed over ranks in a data-parallel evaluation

    def reset(self) -> None:
        self.correct = 0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        output, target = np.asarray(output), np.asarray(target)
        if output.ndim == 0:
            raise ValueError("accuracy: the output must have a batch axis, got a scalar")
        pred = predicted_classes(output, self.threshold)
        multiclass = output.ndim >= 2 and output.shape[1] > 1
        if multiclass and target.shape == output.shape and target.dtype.kind == "f":
            if not np.isfinite(target).all():
                i = first_true_index(~np.isfinite(target))
                raise ValueError(f"accuracy: class-probability targets hold "
                                 f"{target[i].item()!r} at index {i}")
            target = target.argmax(axis=1)  # soft labels / one-hot
        elif not multiclass and output.ndim >= 2 and target.shape == output.shape:
            target = target.reshape(pred.shape)  # (N, 1, *d) targets for (N, 1, *d) scores
        if target.shape != pred.shape:
            raise ValueError(f"accuracy: output of shape {tuple(output.shape)} gives predictions of "
                             f"shape {tuple(pred.shape)}, but the targets have shape {tuple(target.shape)}")
        labels = class_targets(target, output.shape[1] if multiclass else 2, self.ignore_index)
        hit = pred == labels
        if self.ignore_index is not None:
            keep = labels != self.ignore_index
            self.correct += int(np.count_nonzero(hit & keep))
            self.count += int(np.count_nonzero(keep))
        else:
            self.correct += int(np.count_nonzero(hit))
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

    sum_fields = ("total", "count")

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        n = int(np.shape(output)[0]) if np.ndim(output) else 1
        value = self.fn(output, target)
        if np.size(value) != 1:
            raise TypeError(f"metric {self.name!r}: the function must return one number per "
                            f"batch (its mean over the batch), got shape {np.shape(value)}")
        self.total += float(np.asarray(value).reshape(())) * n
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
