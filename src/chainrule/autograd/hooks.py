"""Gradient hooks of a tensor: what ``register_hook`` and ``register_post_accumulate_grad_hook``
keep, and the handle that removes one again. The engine runs them (autograd/engine.py)."""
from __future__ import annotations

from typing import Callable

__all__ = ["HookHandle", "TensorHooks", "leaf_hook_count"]

# How many hooks leaves hold now: while 0, backward skips counting the edges into hooked leaves.
leaf_hook_count = [0]


class HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook. ``counter`` (a one-item
    list) is decremented on removal when the hook was counted in it."""

    def __init__(self, hooks: list, hook: Callable, counter: list | None = None):
        self._hooks, self._hook, self._counter = hooks, hook, counter

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            if self._counter is not None:
                self._counter[0] -= 1
                self._counter = None


class TensorHooks:
    """A tensor's gradient hooks: ``pre`` see (and may replace) its gradient, ``post`` run on a
    leaf after that gradient has been added to ``.grad``."""

    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre: list = []
        self.post: list = []
