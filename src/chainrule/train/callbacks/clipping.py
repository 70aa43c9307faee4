"""Gradient clipping between backward and the optimizer step, by total norm or by value.

By norm: g ← g · min(1, max_norm / ‖g‖) with ‖g‖ the norm of all gradients together; by
value: g ← clip(g, −clip_value, clip_value) elementwise. The mean total norm before clipping is
logged per epoch as ``grad_norm`` (by-norm clipping only; over the whole epoch also when it was
interrupted and resumed).
"""
from __future__ import annotations

from .base import Callback

__all__ = ["GradientClipping"]


class GradientClipping(Callback):
    """``GradientClipping(max_norm=1.0)`` or ``GradientClipping(clip_value=0.5)``; uses
    ``chainrule.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` on the model's parameters."""

    def __init__(self, max_norm: float | None = None, clip_value: float | None = None,
                 norm_type: float = 2.0):
        if (max_norm is None) == (clip_value is None):
            raise ValueError("GradientClipping: give exactly one of max_norm and clip_value")
        for name, v in (("max_norm", max_norm), ("clip_value", clip_value)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or v <= 0):
                raise ValueError(f"GradientClipping: {name} must be a positive number, got "
                                 f"{v!r}")
        self.max_norm, self.clip_value, self.norm_type = max_norm, clip_value, norm_type
        self._norm_sum, self._steps = 0.0, 0

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        if not getattr(trainer, "resumed_batches", 0):  # a resumed epoch keeps its sums so far
            self._norm_sum, self._steps = 0.0, 0

    def after_backward(self, trainer) -> None:
        from ...nn import utils
        params = [p for p in trainer.model.parameters() if p.grad is not None]
        if not params:
            return
        if self.max_norm is not None:
            norm = utils.clip_grad_norm_(params, self.max_norm, norm_type=self.norm_type)
            self._norm_sum += float(norm.item() if hasattr(norm, "item") else norm)
            self._steps += 1
        else:
            utils.clip_grad_value_(params, self.clip_value)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self._steps:
            logs["grad_norm"] = self._norm_sum / self._steps

    def state_dict(self) -> dict:
        # the running sums of the epoch in progress, so a mid-epoch resume logs the mean over
        # the whole epoch rather than over the batches after the resume
        return {"norm_sum": self._norm_sum, "steps": self._steps} if self._steps else {}

    def load_state_dict(self, state: dict) -> None:
        self._norm_sum = float(state.get("norm_sum", 0.0))
        self._steps = int(state.get("steps", 0))
