"""Resuming a run with some options changed: explicit values win over the checkpoint's.

A checkpoint restores the optimizer's state (its param groups included) and the schedule's, so
without this the run would silently keep the stored learning rate, weight decay and momentum
while printing and recording the new ones. The rules:

* ``--lr``, ``--weight-decay``, ``--momentum``, ``--nesterov`` given (by a flag or
  ``--config``) and different from the stored run's are written into the optimizer's param
  groups after its state is loaded. A new ``--lr`` replaces the run's *starting* learning
  rate: the schedule keeps its progress and continues from the new start, so the rate used
  next is lr_new · (lr_now / lr_start_old) — the schedule's value for the new start.
* ``--optimizer`` changed: the model's weights, the epoch counter, the loader position and the
  schedule's progress resume, the optimizer's state (moments, momentum buffers) starts fresh.
* ``--epochs`` changed under an epoch-length schedule (cosine, step, exponential): the
  schedule is stretched or shrunk to the new total, at its current step.
* ``--lr-schedule`` changed: the new schedule starts at its beginning.
* ``--dataset``, ``--val-split``, ``--batch-size``, ``--seed`` and ``--init`` cannot change: the
  stored loader position counts the old batches of the old split, the random stream and the
  weights come from the checkpoint — a new value would be recorded but have no effect (or a
  wrong one), so it is refused, naming both values.
* The architecture cannot change: ``--model``, ``--hidden``, ``--channels``,
  ``--activation`` and ``--batch-norm`` describe the stored weights (or the function they
  compute), so a different value is refused, naming what the checkpoint holds. ``--dropout``
  can change: it has no weights, and the new rate applies from the next batch.
* A run whose epochs are all done (or that early stopping ended) is complete: resuming it
  says so and writes nothing, unless ``--epochs`` asks for more; an ``--epochs`` below the
  epochs already done is refused.

Each change is printed on one line (``resume: lr 0.001 -> 0.1 (from --lr); ...``).
"""
from __future__ import annotations

from typing import Any

from ..optim.lr_scheduler import LRScheduler
from ..train.callbacks.base import Callback
from .args import DEFAULT_LR
from .build import model_kwargs
from .errors import CLIError

__all__ = ["ResumePlan", "ApplyPlan", "start_lr", "check_architecture", "check_progress"]

_GROUP_KEYS = ("weight_decay", "momentum", "nesterov")
_FIXED = {"dataset": "the checkpoint's loader position and model belong to its data",
          "val_split": "the checkpoint's loader position belongs to its split",
          "batch_size": "the checkpoint's loader position counts its batches",
          "seed": "the random stream continues from the checkpoint",
          "init": "the weights come from the checkpoint"}
# The model configuration's keys that fix its weights (or what they compute), and their flags.
_ARCHITECTURE = {"hidden": "--hidden", "channels": "--channels", "activation": "--activation",
                 "batch_norm": "--batch-norm"}


def _a(name: str) -> str:
    return f"{'an' if name == 'mlp' else 'a'} {name}"


def _given(flag: str, value: Any, sources: dict[str, str]) -> str:
    """``--flag value``, with where it came from when that was not the flag itself."""
    where = sources.get(flag[2:].replace("-", "_"))
    return f"{flag} {_shown(value)}" + (f" (from {where})" if where and where != flag else "")


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def check_architecture(stored_model: dict[str, Any], o: dict[str, Any],
                       sources: dict[str, str], resume: str) -> None:
    """Refuse, in one line, a ``--model`` or architecture option that differs from the model
    the checkpoint holds (its weights could not be loaded into the new one, or would compute
    another function)."""
    from ..models import model_config
    old = stored_model.get("name")
    if not isinstance(old, str):
        return
    if o["model"] != old:
        raise CLIError(f"{_given('--model', o['model'], sources)} cannot change on --resume: "
                       f"{resume} holds {_a(old)}, and its weights only fit "
                       f"{_a(old)}; start a new run (without --resume) for {_a(o['model'])}")
    try:
        new = model_config(o["model"], stored_model["input_shape"],
                           stored_model["num_classes"], **model_kwargs(o))
    except (KeyError, ValueError, TypeError):
        return  # building the model reports what is wrong
    for key, flag in _ARCHITECTURE.items():
        before, after = stored_model.get(key), new.get(key)
        if before is None:
            # a default the model resolves itself (cnn channels, hidden): an explicit value is
            # another architecture when it gives another number of parameters
            if after is None or _count(new) == _count(stored_model):
                continue
            held = f"its default {flag}"
        elif after != before:
            held = f"{flag} {_shown(before)}"
        else:
            continue
        raise CLIError(f"{_given(flag, after, sources)} cannot change on --resume: {resume} "
                       f"holds {_a(old)} with {held}, and the architecture is fixed by its "
                       "weights; start a new run (without --resume) instead")


def _count(config: dict[str, Any]) -> int | None:
    from ..models.size import parameter_count
    try:
        return parameter_count(config).parameters
    except (KeyError, ValueError, TypeError):
        return None


def check_progress(done: int, stopped: str | None, o: dict[str, Any],
                   sources: dict[str, str], resume: str) -> str | None:
    """``None`` when the resumed run has epochs left to train; the line that says it is
    complete otherwise. ``done``: the epochs the checkpoint has trained; ``stopped``: why its
    training ended early (``'early_stopping'``), if it did. An ``--epochs`` below ``done`` is
    refused (``--epochs`` counts in total when resuming)."""
    target = o["epochs"]
    if target < done:
        raise CLIError(f"{_given('--epochs', target, sources)} is fewer than the "
                       f"{_epochs(done)} {resume} has already trained (on --resume, --epochs "
                       f"counts all epochs); give more than {done} to train on, or start a "
                       "new run")
    if stopped:
        return (f"resume: {resume} is complete: {stopped.replace('_', ' ')} ended it after "
                f"epoch {done}; nothing to do, no file rewritten (start a new run to train "
                "longer)")
    if done >= target:
        return (f"resume: {resume} is complete ({done} of {_epochs(target)}); nothing to do, no "
                f"file rewritten (give --epochs above {done} to train longer)")
    return None


def start_lr(o: dict[str, Any]) -> float:
    """The learning rate a run starts from: ``--lr`` or the optimizer's default."""
    return o["lr"] if o["lr"] is not None else DEFAULT_LR[o["optimizer"]]


class ResumePlan:
    """What a resumed run changes relative to the run its checkpoint stores."""

    def __init__(self, stored: dict[str, Any], o: dict[str, Any], sources: dict[str, str]):
        self.stored, self.options, self.sources = stored, o, sources
        for key, why in _FIXED.items():
            if key in sources and key in stored and stored[key] != o[key]:
                raise CLIError(f"{sources[key]}: {key.replace('_', '-')} {o[key]} cannot "
                               f"change on --resume (the run used {stored[key]}; {why}); start "
                               "a new run instead")
        old_opt = stored.get("optimizer", o["optimizer"])
        self.fresh_optimizer = old_opt != o["optimizer"]
        old_sched = stored.get("lr_schedule", o["lr_schedule"])
        self.fresh_schedule = old_sched != o["lr_schedule"]
        self.old_start = start_lr({"lr": stored.get("lr"), "optimizer": old_opt})
        self.new_start = start_lr(o)
        self.group = {k: o[k] for k in _GROUP_KEYS
                      if k in sources and stored.get(k, o[k]) != o[k]}
        self.lines = self._describe(old_opt, old_sched)

    def _from(self, key: str) -> str:
        return f" (from {self.sources[key]})" if key in self.sources else ""

    def _describe(self, old_opt: str, old_sched: str) -> list[str]:
        lines = []
        if self.new_start != self.old_start:
            lines.append(f"lr {self.old_start:g} -> {self.new_start:g}"
                         + (self._from("lr") or self._from("optimizer")))
        for k, v in self.group.items():
            lines.append(f"{k.replace('_', '-')} {self.stored.get(k)} -> {v}{self._from(k)}")
        dropout = self.options["dropout"]
        if "dropout" in self.sources and self.stored.get("dropout", dropout) != dropout:
            lines.append(f"dropout {self.stored['dropout']} -> {dropout}{self._from('dropout')}")
        if self.fresh_optimizer:
            lines.append(f"optimizer {old_opt} -> {self.options['optimizer']}: optimizer state "
                         "reset")
        if self.fresh_schedule:
            lines.append(f"lr-schedule {old_sched} -> {self.options['lr_schedule']}: the "
                         "schedule starts over")
        return lines

    @property
    def skip(self) -> tuple[str, ...]:
        """The checkpoint's parts the resumed run starts fresh (``Trainer.fit(skip=...)``)."""
        return (("optimizer",) if self.fresh_optimizer else ()) + \
            (("scheduler",) if self.fresh_schedule else ())

    @property
    def message(self) -> str | None:
        return "resume: " + "; ".join(self.lines) if self.lines else None


class ApplyPlan(Callback):
    """Puts a :class:`ResumePlan`'s values into the optimizer and the schedule once the
    checkpoint is loaded (``on_train_begin``). ``schedule``: the run's schedule callback (or
    ``None``), built from the new options; ``old_lr_now``: the lr the checkpoint stopped at."""

    order = 0  # before the schedule's own callback (10) and everything else

    def __init__(self, plan: ResumePlan, schedule, old_lr_now: float | None):
        self.plan, self.old_lr_now = plan, old_lr_now
        self.scheduler = getattr(schedule, "scheduler", None)
        # the curve the new options give, read before the checkpoint overwrites it
        self.shape = self.scheduler.shape if isinstance(self.scheduler, LRScheduler) else {}

    def on_train_begin(self, trainer) -> None:
        plan, sched = self.plan, self.scheduler
        groups = trainer.optimizer.param_groups
        for group in groups:
            group.update({k: v for k, v in plan.group.items() if k in group})
        stretched = (not plan.fresh_schedule and isinstance(sched, LRScheduler)
                     and sched.shape != self.shape)
        if stretched:
            sched.shape = self.shape
        if plan.new_start == plan.old_start and not (stretched or plan.fresh_optimizer
                                                      or plan.fresh_schedule):
            return
        if isinstance(sched, LRScheduler):
            sched.rebase(plan.new_start)  # the schedule's value for the new start, at its step
            return
        # a plateau schedule (no closed form) or none: keep the factor reached so far
        if plan.fresh_schedule or self.old_lr_now is None:
            lr = plan.new_start
        else:
            lr = plan.new_start * self.old_lr_now / plan.old_start
        for group in groups:
            if "initial_lr" in group:
                group["initial_lr"] = plan.new_start
            group["lr"] = float(lr)
