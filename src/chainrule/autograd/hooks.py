"""Gradient hooks of a tensor: what ``register_hook`` and ``register_post_accumulate_grad_hook``
keep, and the handle that removes one again. The engine runs them (autograd/engine.py)."""
from __future__ import annotations

from typing import Callable

__all__ = ["HookHandle", "TensorHooks"]


class HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class TensorHooks:
    """A tensor's gradient hooks: ``pre`` see (and may replace) its gradient, ``post`` run on a
    leaf after that gradient has been added to ``.grad``."""

    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre: list = []
        self.post: list = []
