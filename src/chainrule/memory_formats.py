"""PyTorch's memory-format markers (``contiguous_format``, ``channels_last``, ...).

chainrule keeps every array in one layout, so a memory format changes no value: the markers exist
so that PyTorch code passing ``memory_format=`` runs unchanged, and anything else passed there is
a clear error.
"""
from __future__ import annotations


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory-layout marker; chainrule accepts each one and keeps its own layout."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"chainrule.{self._name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def check_memory_format(value, op: str) -> None:
    """TypeError naming ``op`` unless ``value`` is None or one of the markers above."""
    if value is not None and not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be a memory format such as "
                        f"chainrule.contiguous_format, not {type(value).__name__}")
