"""The callback protocol: hooks the training loop calls, in order, and a list that runs them.

A callback is an object with any of these methods (subclass :class:`Callback` and override the
ones you need); ``trainer`` is the running :class:`~chainrule.train.Trainer` (its ``model``,
``optimizer``, ``history``, ``epoch`` — epochs completed —, ``epochs`` — the target —,
``global_step`` and ``stop_training``):

=====================================  =========================================================
``on_train_begin(trainer)``            before the first epoch (also of a resumed run)
``on_epoch_begin(trainer, epoch)``     ``epoch`` counts from 1
``on_batch_begin(trainer, batch)``     ``batch`` is the index within the epoch
``after_backward(trainer)``            gradients are in ``.grad``, the optimizer has not stepped
``on_batch_end(trainer, batch, logs)`` ``logs = {'loss': float, 'size': int}``
``on_epoch_end(trainer, epoch, logs)`` ``logs`` is this epoch's History row (add keys to it)
``on_interrupt(trainer)``              Ctrl-C: the current batch has finished
``on_train_end(trainer)``              after the last epoch, early stop or interrupt
``on_exception(trainer, error)``       ``fit`` is failing with ``error`` (an exception in the
                                       loss, a callback, a loader...): release what the
                                       callback holds (hooks on the model, open files); the
                                       error propagates after every callback had this call
=====================================  =========================================================

Callbacks run sorted by their ``order`` (lower first; ties keep the given order): learning-rate
schedules (10) and early stopping (20) decide before loggers (70) record and checkpoints (80)
save, so a checkpoint holds every callback's up-to-date state. A callback whose state matters
for resuming returns it from ``state_dict()`` (numbers, strings, lists, dicts, arrays).
Under ``mpiexec -n N`` every rank runs every callback on the same (reduced) numbers, except
those with ``rank_zero_only = True`` (printing, logging, checkpoint writing): rank 0 alone.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

__all__ = ["Callback", "LambdaCallback", "CallbackList", "HOOKS"]

HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "after_backward",
         "on_batch_end", "on_epoch_end", "on_interrupt", "on_train_end", "on_exception")


class Callback:
    """Base class with every hook doing nothing; override the ones you need."""

    order: int = 50

    def on_train_begin(self, trainer) -> None: ...

    def on_train_end(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_batch_begin(self, trainer, batch: int) -> None: ...

    def after_backward(self, trainer) -> None: ...

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None: ...

    def on_interrupt(self, trainer) -> None: ...

    def on_exception(self, trainer, error: BaseException) -> None: ...

    def state_dict(self) -> dict:
        """What a resumed run needs to carry on exactly (empty for stateless callbacks)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda tr, epoch, logs: ...)``;
    each takes the same arguments as the hook it names."""

    def __init__(self, order: int = 50, **hooks: Callable):
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {unknown}; hooks are {list(HOOKS)}")
        for name, fn in hooks.items():
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got "
                                f"{type(fn).__name__}")
            setattr(self, name, fn)
        self.order = order


class CallbackList:
    """Runs each hook on every callback, sorted by ``order``. Plain objects with only some of
    the hook methods are accepted too."""

    def __init__(self, callbacks: Iterable[Any] = ()):
        callbacks = list(callbacks)
        for cb in callbacks:
            if not any(callable(getattr(cb, h, None)) for h in HOOKS):
                raise TypeError(f"callbacks: {cb!r} has none of the hooks {list(HOOKS)}")
        self.callbacks = sorted(callbacks, key=lambda cb: getattr(cb, "order", 50))

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(*args)

    def call_each(self, hook: str, *args: Any, error: BaseException) -> None:
        """Run ``hook`` on every callback while ``error`` is propagating: a callback that
        fails here does not keep the others from their call; its failure is added to
        ``error`` as a note instead of replacing it."""
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as inner:  # noqa: BLE001 - reported on the original error
                error.add_note(f"{type(cb).__name__}.{hook} also failed: "
                               f"{type(inner).__name__}: {inner}")

    def keys(self) -> list[str]:
        """A stable name per callback for checkpoints: its class name, numbered on repeats."""
        names, seen = [], {}
        for cb in self.callbacks:
            base = getattr(cb, "state_key", None) or type(cb).__name__
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
        return names

    def state_dict(self) -> dict:
        out = {}
        for key, cb in zip(self.keys(), self.callbacks):
            fn = getattr(cb, "state_dict", None)
            state = fn() if callable(fn) else None
            if state:
                out[key] = state
        return out

    def load_state_dict(self, state: dict) -> None:
        for key, cb in zip(self.keys(), self.callbacks):
            if key in state and callable(getattr(cb, "load_state_dict", None)):
                cb.load_state_dict(state[key])
