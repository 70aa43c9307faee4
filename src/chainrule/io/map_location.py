"""``map_location`` for :func:`chainrule.load`: where the loaded tensors go.

Checkpoints hold host arrays whatever device the tensors were on when saved (GPU arrays go
through the host), so every tensor is read as saved from ``'cpu'``; ``map_location`` then moves
them, in PyTorch's forms: None or ``'cpu'`` (stay), a device or string (all there), a dict from a
saved location to a target (``{'cpu': 'cuda:0'}``; locations it does not name stay), or a
callable ``fn(tensor, 'cpu')`` returning a tensor, a device, or None (stay).
"""
from __future__ import annotations

from typing import Any, Callable

from .. import devices
from ..tensor import Tensor

__all__ = ["placer", "place"]

_SAVED_AT = "cpu"


def placer(map_location: Any) -> Callable[[Tensor], Tensor] | None:
    """A function moving one loaded tensor as ``map_location`` says, or None for 'leave it'."""
    if map_location is None:
        return None
    if isinstance(map_location, dict):
        target = map_location.get(_SAVED_AT, map_location.get(devices.CPU))
        return None if target is None else placer(target)
    if callable(map_location) and not isinstance(map_location, devices.device):
        def call(t: Tensor) -> Tensor:
            out = map_location(t, _SAVED_AT)
            if out is None:
                return t
            if isinstance(out, Tensor):
                return out
            return _move(t, devices.as_device(out))
        return call
    try:
        dev = devices.as_device(map_location)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"load: map_location={map_location!r} is not a device, a string such as "
                        f"'cpu' or 'cuda:0', a dict of locations or a callable ({exc})") from None
    if dev.type == "cpu":
        return None
    devices.require_cuda(f"load(map_location={map_location!r})", dev.index or 0)
    return lambda t: _move(t, dev)


def _move(t: Tensor, dev: devices.device) -> Tensor:
    return Tensor._wrap(devices.move_array(t._data, dev, "load(map_location=...)"), False, None)


def place(obj: Any, move: Callable[[Tensor], Tensor] | None) -> Any:
    """``obj`` (a loaded tree of dicts, lists, tuples and tensors) with every tensor moved."""
    if move is None:
        return obj
    if isinstance(obj, Tensor):
        return move(obj)
    if isinstance(obj, dict):
        return type(obj)((k, place(v, move)) for k, v in obj.items())
    if isinstance(obj, list):
        return [place(v, move) for v in obj]
    if isinstance(obj, tuple):
        return tuple(place(v, move) for v in obj)
    return obj
