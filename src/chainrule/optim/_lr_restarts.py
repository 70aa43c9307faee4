"""CosineAnnealingWarmRestarts and ConstantLR (part of ``chainrule.optim.lr_scheduler``)."""
from __future__ import annotations

import math
from typing import Any

from .lr_scheduler import LRScheduler, _check

__all__ = ["CosineAnnealingWarmRestarts", "ConstantLR"]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): lr = η_min + ½(lr₀ − η_min)(1 + cos(π·T_cur/T_i)),
    T_cur counting epochs since the last restart and T_i the current period (T_0, then ·T_mult
    after each restart). ``step(epoch)`` takes a fractional epoch (e.g. ``epoch + i/iters`` per
    batch), as PyTorch's, without a deprecation warning."""

    _SHAPE = ("T_0", "T_mult", "eta_min")

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self._check_shape({"T_0": T_0, "T_mult": T_mult, "eta_min": eta_min})
        self.T_0 = self.T_i = T_0
        self.T_mult, self.eta_min = T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _check_shape(self, shape: dict[str, Any]) -> None:
        t0, mult = shape["T_0"], shape["T_mult"]
        _check(isinstance(t0, int) and not isinstance(t0, bool) and t0 > 0,
               f"CosineAnnealingWarmRestarts: expected a positive integer T_0, got {t0!r}")
        _check(isinstance(mult, int) and not isinstance(mult, bool) and mult >= 1,
               f"CosineAnnealingWarmRestarts: expected an integer T_mult >= 1, got {mult!r}")
        _check(isinstance(shape["eta_min"], (int, float)),
               f"CosineAnnealingWarmRestarts: expected a float eta_min, got "
               f"{shape['eta_min']!r}")

    def get_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    _closed_form = get_lr

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to ``epoch`` (may be fractional)."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch: float | None = None) -> None:
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            _check(epoch >= 0, f"CosineAnnealingWarmRestarts: expected a non-negative epoch, "
                               f"got {epoch!r}")
            t0, mult = self.T_0, self.T_mult
            if epoch >= t0:
                if mult == 1:
                    self.T_cur = epoch % t0
                else:
                    n = int(math.log(epoch / t0 * (mult - 1) + 1, mult))
                    self.T_cur = epoch - t0 * (mult ** n - 1) / (mult - 1)
                    self.T_i = t0 * mult ** n
            else:
                self.T_i, self.T_cur = t0, epoch
        self.last_epoch = math.floor(epoch)
        self._apply(self.get_lr())


class ConstantLR(LRScheduler):
    """lr = lr₀·factor for the first ``total_iters`` steps, then lr₀ (a constant warm-up)."""

    _SHAPE = ("factor", "total_iters")

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        self._check_shape({"factor": factor, "total_iters": total_iters})
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _check_shape(self, shape: dict[str, Any]) -> None:
        _check(0 <= shape["factor"] <= 1, f"ConstantLR: the multiplicative factor must be "
                                          f"between 0 and 1, got {shape['factor']!r}")

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t == 0:
            return [lr * self.factor for lr in self._current()]
        if self._is_initial or t != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _closed_form(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [b * (self.factor + done * (1 - self.factor)) for b in self.base_lrs]
