"""Dropout: zero each activation with probability p while training.

Conventions. PyTorch's ``p`` is the probability of *dropping* a unit; the notes' p is the
probability of *keeping* it, so notes-p = 1 − PyTorch-p (notes p = 0.8 is ``Dropout(0.2)``).

Why inverted dropout equals the notes' rule. Let q = 1 − p be the keep probability and
mᵢ ~ Bernoulli(q) the mask. The notes train a layer with weights W on m ⊙ h and, at test time,
use q·W, so the test-time output q·W·h equals the training-time expectation E[W(m ⊙ h)]. Inverted
dropout trains weights V on m ⊙ h / q and uses V unchanged at test time. Put V = q·W: in training
V(m ⊙ h)/q = W(m ⊙ h), and at test time V·h = q·W·h — both phases compute exactly the same
numbers, so the two rules are one model in two parametrisations (V is already the "multiplied by
the keep probability" weight). The inverted form just does the scaling during training, so
eval() needs no change to the weights.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Training: y = m ⊙ x / (1 − p) with m ~ Bernoulli(1 − p) (from the seeded generator);
    evaluation: y = x. ∂y/∂x = m / (1 − p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        fn = getattr(F, "dropout", None)
        if fn is None:
            raise NotImplementedError("Dropout: chainrule.nn.functional.dropout is not "
                                      "available yet")
        return fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
