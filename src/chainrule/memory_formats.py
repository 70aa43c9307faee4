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


_RANK = {"channels_last": 4, "channels_last_3d": 5}


def check_memory_format(value, op: str, ndim: int | None = None) -> None:
    """TypeError naming ``op`` unless ``value`` is None or one of the markers above; with
    ``ndim`` (the tensor's rank), RuntimeError where PyTorch refuses the layout for that rank
    (``channels_last`` needs 4 dims, ``channels_last_3d`` 5)."""
    if value is None:
        return
    if not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be a memory format such as "
                        f"chainrule.contiguous_format, not {type(value).__name__}")
    rank = _RANK.get(value._name)
    if ndim is not None and rank is not None and ndim != rank:
        raise RuntimeError(f"{op}: memory_format=chainrule.{value._name} needs a {rank}-D tensor "
                           f"({'N, C, H, W' if rank == 4 else 'N, C, D, H, W'}), got a "
                           f"{ndim}-D one")
