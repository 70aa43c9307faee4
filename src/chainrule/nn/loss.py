"""Loss modules: each stores its options (and class weights as buffers, as PyTorch does) and
calls the function of the same name in ``chainrule.nn.functional``."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .functional.cross_entropy import check_reduction, legacy_reduction
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "HingeLoss", "MultiMarginLoss"]


def _class_index_denominator(target, weight, ignore_index: int) -> float:
    """What reduction='mean' of a class-index loss divides by: Σ w[t] over the targets that
    are not ``ignore_index`` (their count when ``weight`` is None)."""
    import numpy as np
    t = np.asarray(target._data if isinstance(target, Tensor) else target)
    keep = t != ignore_index
    if weight is None:
        return float(np.count_nonzero(keep))
    w = np.asarray(weight._data if isinstance(weight, Tensor) else weight, dtype=np.float64)
    return float(w[t[keep]].sum())


def _mean_parts(loss, input, target) -> tuple:
    """(the reduction='sum' loss, what 'mean' divides it by): see
    :meth:`CrossEntropyLoss.sum_and_denominator`."""
    if loss.reduction != "mean":
        raise ValueError(f"{type(loss).__name__}.sum_and_denominator: reduction is "
                         f"{loss.reduction!r}, not 'mean'")
    old, loss.reduction = loss.reduction, "sum"
    try:
        total = loss(input, target)
    finally:
        loss.reduction = old
    import numpy as np
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if np.issubdtype(np.asarray(t).dtype, np.floating):   # probabilities: one per row
        channels = input.shape[1] if input.ndim > 1 else 1
        return total, float(np.asarray(t).size // max(channels, 1))
    return total, _class_index_denominator(target, loss.weight, loss.ignore_index)


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)
        check_reduction(type(self).__name__, self.reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """mean((x − t)²) (or sum, or per element)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """mean(|x − t|)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """½d² for |d| < δ, δ(|d| − ½δ) beyond, d = x − t."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """½d²/β for |d| < β, |d| − ½β beyond (Huber divided by β)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class CrossEntropyLoss(_WeightedLoss):
    """−log softmax(x)_t on logits (class indices or probabilities as targets), with class
    ``weight``, ``ignore_index`` and ``label_smoothing``."""

    def __init__(self, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def sum_and_denominator(self, input: Tensor, target) -> tuple:
        """(Σ of the per-element losses, the normaliser 'mean' divides it by: Σ w[t] over
        targets other than ``ignore_index``, or the number of rows for probability targets),
        so that the mean over several parts is Σ sums / Σ normalisers (data-parallel fit)."""
        return _mean_parts(self, input, target)


class NLLLoss(_WeightedLoss):
    """−w_t·x_t on log-probabilities x."""

    def __init__(self, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def sum_and_denominator(self, input: Tensor, target) -> tuple:
        """(Σ of the per-element losses, the normaliser 'mean' divides it by: Σ w[t] over
        targets other than ``ignore_index``, or the number of rows for probability targets),
        so that the mean over several parts is Σ sums / Σ normalisers (data-parallel fit)."""
        return _mean_parts(self, input, target)


class BCELoss(_WeightedLoss):
    """−w[t ln x + (1 − t) ln(1 − x)] on probabilities x."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably (finite for any logit); ``pos_weight``
    weighs positives."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class HingeLoss(_Loss):
    """mean(max(0, 1 − t·y)) for targets t ∈ {−1, +1} (the SVM loss; not in PyTorch)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__(reduction=reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_loss(input, target, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """(1/C)·Σ_{j≠y} w_y·max(0, margin − x_y + x_j)^p (multi-class hinge)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                 size_average=None, reduce=None, reduction: str = "mean"):
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p = 1 and p = 2 are supported, got {p}")
        super().__init__(weight, size_average, reduce, reduction)
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)
