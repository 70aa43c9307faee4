"""KLDivLoss: ``functional.kl_div`` as a module (input log-probabilities, target probabilities
or, with ``log_target``, log-probabilities)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .functional.cross_entropy import legacy_reduction
from .module import Module

__all__ = ["KLDivLoss"]


class KLDivLoss(Module):
    """ℓ = t·(log t − x) reduced by 'mean' | 'batchmean' | 'sum' | 'none'."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
