"""Hook handles: what ``register_forward_hook`` and ``register_forward_pre_hook`` return."""
from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Returned when a hook is registered; ``remove()`` unregisters it (also as a context
    manager)."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
