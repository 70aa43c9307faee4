"""Learning-rate schedules with PyTorch's names, update rules and ``state_dict``.

Each scheduler rewrites ``group["lr"]`` of its optimizer's parameter groups when ``step()`` is
called (once per epoch, or once per batch for warm-up schedules). Like PyTorch's, the rules are
*chainable*: each step multiplies the current learning rate, so schedules can be composed, and the
constructor takes the first step (epoch 0). ``state_dict()`` holds only numbers, lists and dicts,
so it fits a checkpoint's JSON metadata (schedules built from callables — LambdaLR,
MultiplicativeLR, CyclicLR's scale_fn — keep only a callable object's JSON-able attributes; see
``_lr_lambda``). LambdaLR/MultiplicativeLR live in ``_lr_lambda.py``, CyclicLR/OneCycleLR (which
also cycle the momentum) in ``_lr_cyclic.py``, SequentialLR/ChainedScheduler in
``_lr_compose.py``; all are importable from here.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "SequentialLR", "ReduceLROnPlateau", "PolynomialLR", "LambdaLR",
           "MultiplicativeLR", "CyclicLR", "OneCycleLR", "ChainedScheduler"]

EPOCH_DEPRECATION_WARNING = (
    "step(epoch) is deprecated (as in PyTorch): call step() once per epoch instead. With an "
    "epoch given, last_epoch is set to it and the schedule's closed form is used where it has "
    "one (else its chainable rule at that epoch).")


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


class LRScheduler:
    """Base class: ``get_lr()`` gives the new learning rates at ``self.last_epoch``."""

    def __init__(self, optimizer, last_epoch: int = -1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{type(self).__name__}: last_epoch={last_epoch} resumes a schedule, but "
                        f"param_groups[{i}] has no 'initial_lr'; load the optimizer's state_dict "
                        "first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or batch) and write the new learning rates into the optimizer.
        ``step(epoch)``, PyTorch's deprecated form, warns, jumps to ``epoch`` and takes the
        closed form there where the schedule has one (PyTorch's values)."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """One step's new rates: the chainable rule at the next epoch, or at ``epoch`` the
        closed form where there is one, else the chainable rule (PyTorch's ``_update_lr``)."""
        if epoch is None:
            self.last_epoch += 1
            self._apply(self.get_lr())
            return
        self.last_epoch = epoch
        closed = type(self)._closed_form is not LRScheduler._closed_form
        self._apply(self._closed_form() if closed else self.get_lr())

    def _apply(self, values: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = float(lr)
        self._last_lr = self._current()

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (numbers, lists, dicts)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    # -- changing a schedule in flight (a resumed run with new options) ------------------------
    _SHAPE: tuple[str, ...] = ()  # the parameters that, with the base lrs, define the curve

    @property
    def shape(self) -> dict[str, Any]:
        """The parameters that shape the curve besides the base lrs (e.g. ``{'T_max': 100,
        'eta_min': 0.0}``); assigning a dict with some of them changes the schedule from the
        next step on, at its current step (``last_epoch``), e.g. to stretch it to a new
        length. Call :meth:`rebase` to move the current lr onto the new curve too."""
        return {k: getattr(self, k) for k in self._SHAPE}

    @shape.setter
    def shape(self, values: dict[str, Any]) -> None:
        unknown = sorted(set(values) - set(self._SHAPE))
        _check(not unknown, f"{type(self).__name__}: shape has no {unknown} (its parameters "
                            f"are {list(self._SHAPE)})")
        self._check_shape({**self.shape, **values})
        for k, v in values.items():
            setattr(self, k, v)

    def _check_shape(self, shape: dict[str, Any]) -> None:
        """Raise ValueError when ``shape`` does not describe a valid schedule."""

    def rebase(self, start_lr: float) -> None:
        """Make ``start_lr`` every group's base (``initial_lr``) and set the lr to the
        schedule's value for that base at its current step: lr_t = f(t; lr₀ = start_lr). The
        schedule keeps its progress; the next steps continue the curve from the new base."""
        _check(start_lr >= 0, f"{type(self).__name__}: rebase needs a non-negative start lr, "
                              f"got {start_lr!r}")
        self.base_lrs = [float(start_lr)] * len(self.optimizer.param_groups)
        for group in self.optimizer.param_groups:
            group["initial_lr"] = float(start_lr)
        self._apply(self._closed_form())

    def _closed_form(self) -> list[float]:
        raise TypeError(f"{type(self).__name__}: has no closed form to rebase; rebase the "
                        "schedules it runs instead")


class StepLR(LRScheduler):
    """lr ← lr·γ every ``step_size`` epochs:  lr_t = lr₀·γ^⌊t/step_size⌋."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self._check_shape({"step_size": step_size})
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    _SHAPE = ("step_size", "gamma")

    def _check_shape(self, shape: dict[str, Any]) -> None:
        step_size = shape["step_size"]
        # PyTorch also takes a float step (StepLR(opt, 1.0)): only the arithmetic uses it
        _check(isinstance(step_size, (int, float)) and not isinstance(step_size, bool)
               and step_size > 0, f"StepLR: step_size must be a positive number, got "
               f"{step_size!r}")

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr ← lr·γ at each milestone epoch:  lr_t = lr₀·γ^(number of milestones ≤ t)."""

    def __init__(self, optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        ms = list(milestones)
        _check(all(isinstance(m, (int, float)) and not isinstance(m, bool) and m >= 0
                   for m in ms),   # PyTorch takes float milestones (2.0 matches epoch 2)
               f"MultiStepLR: milestones must be non-negative numbers, got {ms!r}")
        self.milestones = {m: ms.count(m) for m in sorted(set(ms))}
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.get(self.last_epoch, 0)
        if not hits:
            return self._current()
        return [lr * self.gamma ** hits for lr in self._current()]

    def _closed_form(self) -> list[float]:
        passed = sum(c for m, c in self.milestones.items() if m <= self.last_epoch)
        return [b * self.gamma ** passed for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr ← lr·γ every epoch:  lr_t = lr₀·γᵗ."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self._check_shape({"gamma": gamma})
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    _SHAPE = ("gamma",)

    def _check_shape(self, shape: dict[str, Any]) -> None:
        gamma = shape["gamma"]
        _check(gamma > 0, f"ExponentialLR: gamma must be positive, got {gamma!r}")

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form(self) -> list[float]:
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr_t = η_min + ½(lr₀ − η_min)(1 + cos(πt/T_max)), applied as PyTorch's recurrence
    (so it composes with other schedules and keeps cycling after T_max)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self._check_shape({"T_max": T_max})
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    _SHAPE = ("T_max", "eta_min")

    def _check_shape(self, shape: dict[str, Any]) -> None:
        T_max = shape["T_max"]
        _check(T_max > 0, f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")

    def get_lr(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and t > 0:  # resumed with last_epoch given: closed form
            return [lo + (b - lo) * (1 + math.cos(t * math.pi / T)) / 2 for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, b in zip(self._current(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._current()]

    def _closed_form(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * t / T)) / 2 for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Warm-up: the factor on lr₀ moves linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then stays."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        _check(0 < start_factor <= 1, f"LinearLR: start_factor must be in (0, 1], got "
                                      f"{start_factor!r}")
        _check(0 <= end_factor <= 1, f"LinearLR: end_factor must be in [0, 1], got "
                                     f"{end_factor!r}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, a, b, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * a for lr in self._current()]
        if self._is_initial or t > n:
            return self._current()
        return [lr * (1.0 + (b - a) / (n * a + (t - 1) * (b - a))) for lr in self._current()]

    def _closed_form(self) -> list[float]:
        a, b, n = self.start_factor, self.end_factor, self.total_iters
        return [lr0 * (a + (b - a) * min(n, self.last_epoch) / n) for lr0 in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay to 0 over ``total_iters`` steps, then stay:  lr_t = lr₀·(1 − min(t, n)/n)^power,
    applied as PyTorch's recurrence lr_t = lr_{t−1}·((1 − t/n)/(1 − (t − 1)/n))^power."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self._check_shape({"total_iters": total_iters})
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    _SHAPE = ("total_iters", "power")

    def _check_shape(self, shape: dict[str, Any]) -> None:
        n = shape["total_iters"]
        _check(isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0,
               f"PolynomialLR: total_iters must be a positive number (PyTorch takes 4.0 too), "
               f"got {n!r}")

    def get_lr(self) -> list[float]:
        t, n = self.last_epoch, self.total_iters
        if self._is_initial or t > n:
            return self._current()
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [lr * factor for lr in self._current()]

    def _closed_form(self) -> list[float]:
        n = self.total_iters
        return [b * (1.0 - min(n, self.last_epoch) / n) ** self.power for b in self.base_lrs]


class ReduceLROnPlateau:
    """lr ← max(lr·factor, min_lr) when the monitored metric has not improved for ``patience``
    epochs (improvement: better than best by ``threshold``, relative or absolute); then wait
    ``cooldown`` epochs before counting again. ``step(metric)`` takes the metric."""

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8):
        _check(factor < 1.0, f"ReduceLROnPlateau: factor must be < 1, got {factor!r}")
        _check(mode in ("min", "max"), f"ReduceLROnPlateau: mode must be 'min' or 'max', got "
                                       f"{mode!r}")
        _check(threshold_mode in ("rel", "abs"),
               f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            _check(len(min_lr) == n, f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics: float, epoch: int | None = None) -> None:
        """One epoch's metric; ``epoch`` (deprecated, as in PyTorch) sets ``last_epoch``."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


# Schedules kept in their own modules (each builds on LRScheduler above), importable from here
# as in PyTorch.
from ._lr_lambda import LambdaLR, MultiplicativeLR  # noqa: E402
from ._lr_cyclic import CyclicLR, OneCycleLR  # noqa: E402
from ._lr_compose import SequentialLR, ChainedScheduler  # noqa: E402
from ._lr_restarts import CosineAnnealingWarmRestarts, ConstantLR  # noqa: E402
__all__ += ["CosineAnnealingWarmRestarts", "ConstantLR"]
