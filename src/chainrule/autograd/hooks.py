"""Gradient hooks of a tensor: what ``register_hook`` and ``register_post_accumulate_grad_hook``
keep, and the handle that removes one again. The engine runs them (autograd/engine.py)."""
from __future__ import annotations

import weakref
from typing import Callable

__all__ = ["HookHandle", "TensorHooks", "leaf_hook_count", "add_leaf_hook"]

# How many hooks live leaves hold now: while 0, backward skips counting the edges into hooked
# leaves. A hook leaves the count when its handle removes it or when its tensor is freed.
leaf_hook_count = [0]


class HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook. ``counter`` (a one-item
    list) is decremented on removal when the hook was counted in it; ``owner`` (the
    :class:`TensorHooks` holding the hook) is then told too, unless it was freed already (its
    count went with it)."""

    def __init__(self, hooks: list, hook: Callable, counter: list | None = None,
                 owner: "TensorHooks | None" = None):
        self._hooks, self._hook, self._counter = hooks, hook, counter
        self._owner = None if owner is None else weakref.ref(owner)

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            if self._counter is not None:
                owner = self._owner() if self._owner is not None else None
                if self._owner is None or owner is not None:
                    self._counter[0] -= 1
                    if owner is not None:
                        owner.counted -= 1
                self._counter = None


class TensorHooks:
    """A tensor's gradient hooks: ``pre`` see (and may replace) its gradient, ``post`` run on a
    leaf after that gradient has been added to ``.grad``. ``counted`` of them are in
    :data:`leaf_hook_count`; freeing the tensor (and so this) takes them out of it."""

    __slots__ = ("pre", "post", "counted", "__weakref__")

    def __init__(self):
        self.pre: list = []
        self.post: list = []
        self.counted = 0

    def __del__(self):
        if self.counted:
            leaf_hook_count[0] -= self.counted
            self.counted = 0


def add_leaf_hook(hooks: TensorHooks, where: list, hook: Callable) -> HookHandle:
    """Append ``hook`` to ``where`` (``hooks.pre`` or ``hooks.post`` of a leaf) and count it."""
    where.append(hook)
    hooks.counted += 1
    leaf_hook_count[0] += 1
    return HookHandle(where, hook, leaf_hook_count, hooks)
