"""LambdaLR and MultiplicativeLR: schedules given as Python callables (part of
``chainrule.optim.lr_scheduler``).

A function cannot go into a checkpoint (chainrule's hold JSON and tensors, never pickle), so
``state_dict()`` stores, for each callable, None when it is a plain function or lambda and, when
it is a callable *object*, the JSON-able entries of its ``__dict__`` (PyTorch stores the whole
``__dict__``; entries that are not plain data — arrays, functions — are left out here).
``load_state_dict`` updates the callables the new scheduler was built with from those entries, so
rebuild it with the same functions.
"""
from __future__ import annotations

import json
import types
from typing import Any, Callable

from .lr_scheduler import LRScheduler

__all__ = ["LambdaLR", "MultiplicativeLR", "callable_state", "restore_callable_state"]


def _lambdas(owner: str, optimizer, lr_lambda) -> list[Callable[[int], float]]:
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{owner}: expected an optimizer, got {type(optimizer).__name__}")
    n = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != n:
            raise ValueError(f"{owner}: expected {n} lr_lambdas (one per parameter group), but "
                             f"got {len(lr_lambda)}")
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * n
    for i, fn in enumerate(fns):
        if not callable(fn):
            raise TypeError(f"{owner}: lr_lambda should be a function, but lr_lambda[{i}] is a "
                            f"{type(fn).__name__}")
    return fns


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def callable_state(fn: Callable) -> dict | None:
    """What a checkpoint keeps of a schedule's callable: None for a function or lambda, the
    JSON-able part of a callable object's ``__dict__`` otherwise."""
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return None
    attrs = getattr(fn, "__dict__", None)
    if attrs is None:
        return None
    return {k: v for k, v in attrs.items() if _jsonable(v)}


def restore_callable_state(fn: Callable, state: dict | None) -> None:
    """Put entries saved by :func:`callable_state` back onto ``fn``."""
    if state is not None:
        fn.__dict__.update(state)


class _LambdaScheduler(LRScheduler):
    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lambdas(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's numbers, and for each lambda what :func:`callable_state` keeps."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [callable_state(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None) or [None] * len(self.lr_lambdas)
        self.__dict__.update(state)
        for fn, entries in zip(self.lr_lambdas, saved):
            restore_callable_state(fn, entries)


class LambdaLR(_LambdaScheduler):
    """lr_t = lr₀·λ(t), with one λ for every group or a list of one per group."""

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def _closed_form(self) -> list[float]:
        return self.get_lr()


class MultiplicativeLR(_LambdaScheduler):
    """lr_t = lr_{t−1}·λ(t) for t ≥ 1 (the first step keeps the lr)."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._current())]
