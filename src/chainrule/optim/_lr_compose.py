"""Schedules built from schedules: ``SequentialLR`` (one after another, switching at
milestones) and ``ChainedScheduler`` (all together, each step stepping every one).

SequentialLR starts the next schedule at a milestone as PyTorch does, by its
``_update_lr(0)``: its closed form at epoch 0 where it has one, else its chainable rule at epoch 0
(so LambdaLR, MultiplicativeLR, CyclicLR and OneCycleLR work there too, with PyTorch's values).
ChainedScheduler relies on the rules being chainable (each multiplies the current lr): run in
order on one optimizer they compose, e.g. a constant warm-up factor times an exponential decay;
as in PyTorch, nothing is undone at construction.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, Sequence

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _check

__all__ = ["SequentialLR", "ChainedScheduler"]


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]``, and so on (e.g.
    LinearLR warm-up followed by cosine annealing)."""

    def __init__(self, optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1):
        _check(len(schedulers) >= 1, "SequentialLR: expects at least one scheduler")
        _check(len(milestones) == len(schedulers) - 1,
               f"SequentialLR: needs one milestone fewer than schedulers, got {len(milestones)} "
               f"milestones for {len(schedulers)} schedulers")
        for i, s in enumerate(schedulers):
            _check(not isinstance(s, ReduceLROnPlateau),
                   f"SequentialLR: scheduler {i} is ReduceLROnPlateau, which needs a metric")
            _check(s.optimizer is optimizer,
                   f"SequentialLR: scheduler {i} belongs to a different optimizer")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_initial_steps(self)   # undo the step each one took when it was built
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)     # the next schedule starts at its epoch 0, as PyTorch's
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, inner):
            s.load_state_dict(sd)


def _undo_initial_steps(sched) -> None:
    """Take back the step each scheduler (inside nested Sequential/Chained ones too) made when
    it was built (PyTorch's ``recursive_undo``)."""
    for s in sched._schedulers:
        if hasattr(s, "_schedulers"):
            _undo_initial_steps(s)
        elif hasattr(s, "last_epoch"):
            s.last_epoch -= 1


class ChainedScheduler(LRScheduler):
    """Step every scheduler of ``schedulers`` in order on each :meth:`step`."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expects at least one scheduler to chain")
        optimizer = optimizer or schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if not hasattr(s, "optimizer"):
                raise TypeError(f"ChainedScheduler: scheduler {i} has no optimizer attribute")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"ChainedScheduler: scheduler {i} is ReduceLROnPlateau, which "
                                 "needs a metric in step()")
            if s.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler: scheduler {i} belongs to a different "
                                 "optimizer")
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]

    def step(self) -> None:  # noqa: D102 - no epoch= form, as PyTorch's
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self._schedulers[-1].optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, sd in zip(self._schedulers, inner):
            s.load_state_dict(sd)
