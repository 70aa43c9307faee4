"""CyclicLR and OneCycleLR: per-batch schedules that also cycle the momentum (SGD's
``momentum``, Adam's β₁) against the learning rate (part of ``chainrule.optim.lr_scheduler``).

Both follow PyTorch's rules and group keys (``max_lr``, ``min_lr``, ``base_momentum``,
``max_momentum`` in each parameter group), so the sequences match step for step. A custom
``scale_fn`` is saved as :mod:`._lr_lambda` saves lambdas (nothing for a function, the JSON-able
``__dict__`` of a callable object).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from ._lr_lambda import callable_state, restore_callable_state
from .lr_scheduler import LRScheduler

__all__ = ["CyclicLR", "OneCycleLR"]


def _check_optimizer(owner: str, optimizer) -> None:
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{owner}: expected an optimizer, got {type(optimizer).__name__}")


def _per_group(owner: str, name: str, optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or a scalar repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must have the same length as "
                             f"optimizer.param_groups. {name} has {len(value)} values, "
                             f"param_groups has {n}.")
        return list(value)
    return [value] * n


def _momentum_setup(sched, optimizer, base_momentum, max_momentum,
                    last_epoch: int) -> tuple[list, list]:
    """Check the optimizer has a momentum to cycle, note which (β₁ or momentum) and, for a fresh
    schedule, start every group at its max momentum. Returns (base, max) per group."""
    owner = type(sched).__name__
    defaults = getattr(optimizer, "defaults", {})
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError(f"{owner}: optimizer must support momentum or beta1 with "
                         f"`cycle_momentum` option enabled ({type(optimizer).__name__} has "
                         "neither; pass cycle_momentum=False)")
    sched.use_beta1 = "betas" in defaults
    bases = _per_group(owner, "base_momentum", optimizer, base_momentum)
    maxes = _per_group(owner, "max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for group, lo, hi in zip(optimizer.param_groups, bases, maxes):
            _set_momentum(group, sched.use_beta1, hi)
            group["max_momentum"], group["base_momentum"] = hi, lo
    return bases, maxes


def _set_momentum(group: dict, use_beta1: bool, value: float) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017), stepped once per batch. With T = up + down steps
    per cycle, cycle c = ⌊1 + t/T⌋ and position x = 1 + t/T − c ∈ [0, 1):

        h = x/r rising (x ≤ r = up/T), (x − 1)/(r − 1) falling;
        lr_t = base_lr + (max_lr − base_lr)·h·s,  momentum_t = max_m − (max_m − base_m)·h·s

    with s = 1 ('triangular'), 2^(1−c) ('triangular2'), γᵗ ('exp_range'), or ``scale_fn`` of c
    (``scale_mode='cycle'``) or of t (``'iterations'``)."""

    _MODES = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}

    def __init__(self, optimizer, base_lr: float | Sequence[float], max_lr: float | Sequence[float],
                 step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | Sequence[float] = 0.8,
                 max_momentum: float | Sequence[float] = 0.9, last_epoch: int = -1):
        _check_optimizer("CyclicLR", optimizer)
        base_lrs = _per_group("CyclicLR", "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR", "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = up if step_size_down is None else float(step_size_down)
        if not (up > 0 and down >= 0):
            raise ValueError(f"CyclicLR: step_size_up must be positive and step_size_down "
                             f"non-negative, got {step_size_up!r} and {step_size_down!r}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in self._MODES and scale_fn is None:
            raise ValueError(f"CyclicLR: mode is invalid and scale_fn is None (mode must be one "
                             f"of {list(self._MODES)}, got {mode!r})")
        if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else self._MODES[mode]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = _momentum_setup(
                self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude factor s at cycle (or iteration) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            h = x / self.step_ratio
        else:
            h = (x - 1) / (self.step_ratio - 1)
        s = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [lo + (hi - lo) * h * s for lo, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums,
                                     self.max_momentums):
                _set_momentum(group, self.use_beta1, hi - (hi - lo) * h * s)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_scale_fn_custom"] = (None if self._scale_fn_custom is None
                                     else callable_state(self._scale_fn_custom))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved_fn = state.pop("_scale_fn_custom", None)
        self.__dict__.update(state)
        if self._scale_fn_custom is not None:
            restore_callable_state(self._scale_fn_custom, saved_fn)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch for ``total_steps``:
    lr rises from max_lr/div_factor to max_lr over the first ``pct_start`` of the steps, then
    anneals (cos or linear) to max_lr/(div_factor·final_div_factor); momentum moves the other
    way between max_momentum and base_momentum. ``three_phase``: up, back down to the start,
    then the final anneal. Stepping past ``total_steps`` is an error."""

    def __init__(self, optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        _check_optimizer("OneCycleLR", optimizer)
        self.total_steps = self._count_steps(total_steps, epochs, steps_per_epoch)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: Expected float between 0 and 1 pct_start, but got "
                             f"{pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        self._schedule_phases = self._phases(pct_start, three_phase)
        max_lrs = _per_group("OneCycleLR", "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, hi in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = hi / div_factor
                group["max_lr"] = hi
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _momentum_setup(self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _count_steps(total_steps, epochs, steps_per_epoch) -> int:
        def positive_int(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v > 0

        if total_steps is not None:
            if not positive_int(total_steps):
                raise ValueError(f"OneCycleLR: Expected positive integer total_steps, but got "
                                 f"{total_steps!r}")
            return total_steps
        if epochs is not None and steps_per_epoch is not None:
            if not positive_int(epochs):
                raise ValueError(f"OneCycleLR: Expected positive integer epochs, but got "
                                 f"{epochs!r}")
            if not positive_int(steps_per_epoch):
                raise ValueError(f"OneCycleLR: Expected positive integer steps_per_epoch, but "
                                 f"got {steps_per_epoch!r}")
            return epochs * steps_per_epoch
        raise ValueError("OneCycleLR: You must define either total_steps OR (epochs AND "
                         "steps_per_epoch)")

    def _phases(self, pct_start: float, three_phase: bool) -> list[dict]:
        """Each phase: the step it ends at and the group keys it anneals between."""
        n = self.total_steps
        up = float(pct_start * n) - 1

        def phase(end, lr0, lr1, m0, m1):
            return {"end_step": end, "start_lr": lr0, "end_lr": lr1, "start_momentum": m0,
                    "end_momentum": m1}

        if three_phase:
            return [phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                    phase(float(2 * pct_start * n) - 2, "max_lr", "initial_lr",
                          "base_momentum", "max_momentum"),
                    phase(n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        return [phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                phase(n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        """cos: end + (start − end)·(1 + cos πp)/2;  linear: start + (end − start)·p."""
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: Tried to step {step} times. The specified number of "
                             f"total steps is {self.total_steps}")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, ph in enumerate(self._schedule_phases):
                if step <= ph["end_step"] or i == last:
                    pct = (step - start) / (ph["end_step"] - start)
                    lrs.append(self._anneal(group[ph["start_lr"]], group[ph["end_lr"]], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1,
                                      self._anneal(group[ph["start_momentum"]],
                                                   group[ph["end_momentum"]], pct))
                    break
                start = ph["end_step"]
        return lrs
