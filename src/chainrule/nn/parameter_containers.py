"""ParameterList and ParameterDict: registered collections of Parameters.

Entries are registered under their index ('0', '1', …) or key, so ``parameters()``, optimizers
and ``state_dict`` (keys ``plist.0``, ``pdict.alpha``) see them, as in PyTorch. A plain Tensor
stored in one is wrapped as a Parameter; a Module is registered as a child; anything else is kept
as a plain attribute.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..tensor import Tensor
from .module import Module
from .parameter import Parameter

__all__ = ["ParameterList", "ParameterDict"]


def _as_entry(value: Any) -> Any:
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(key, value, by_type: bool = False) -> str:
    """One line of the repr: PyTorch names the dtype in a list and the tensor type in a dict."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(s) for s in value.shape)
        dev = getattr(value, "device", None)
        where = f" ({dev})" if dev is not None and getattr(dev, "type", "cpu") != "cpu" else ""
        return f"  ({key}): {kind} containing: [{value.type() if by_type else repr(value.dtype)} of size {size}{where}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of Parameters, each registered under its index."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def _key(self, idx: int) -> str:
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"ParameterList indices must be integers or slices, not "
                            f"{type(idx).__name__}")
        if not -len(self) <= idx < len(self):
            raise IndexError(f"ParameterList: index {idx} is out of range for {len(self)} "
                             "entries")
        return str(idx % len(self))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(len(self))[idx]])
        return getattr(self, self._key(idx))

    def __setitem__(self, idx: int, param: Any) -> None:
        key = self._key(idx)
        self._set(key, param)

    def _set(self, key: str, value: Any) -> None:
        value = _as_entry(value)
        for table in (self._parameters, self._modules):
            table.pop(key, None)
        self.__dict__.pop(key, None)
        setattr(self, key, value)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __iadd__(self, parameters: Iterable[Any]) -> "ParameterList":
        return self.extend(parameters)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value: Any) -> "ParameterList":
        """Add ``value`` (a Tensor becomes a Parameter) at the end."""
        self._size += 1
        self._set(str(self._size - 1), value)
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError("ParameterList.extend should be called with an iterable, but got "
                            + type(values).__name__)
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, p) for k, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict of Parameters, each registered under its (string) key."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict = {}
        if parameters is not None:
            self.update(parameters)

    def _key(self, key) -> str:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        return key

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        key = self._key(key)
        self._keys[key] = None
        value = _as_entry(value)
        for table in (self._parameters, self._modules):
            table.pop(key, None)
        self.__dict__.pop(key, None)
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key) -> bool:
        return key in self._keys

    def copy(self) -> "ParameterDict":
        return ParameterDict({k: self[k] for k in self._keys})

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def pop(self, key: str) -> Any:
        v = self[key]
        del self[key]
        return v

    def popitem(self) -> tuple:
        k = next(reversed(self))
        return k, self.pop(k)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> "ParameterDict":
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def values(self):
        return (self[k] for k in self._keys)

    def update(self, parameters: Any) -> None:
        """Add entries from a mapping or an iterable of (key, value) pairs."""
        if hasattr(parameters, "keys") and hasattr(parameters, "__getitem__"):
            pairs = [(k, parameters[k]) for k in parameters.keys()]
        else:
            pairs = []
            for j, p in enumerate(parameters):
                if not hasattr(p, "__len__") or isinstance(p, (str, Tensor)) or len(p) != 2:
                    raise ValueError(f"ParameterDict update sequence element #{j} should be a "
                                     f"(key, value) pair")
                pairs.append(tuple(p))
        for k, v in pairs:
            self[k] = v

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, p, True) for k, p in self.items())

    def __or__(self, other: "ParameterDict") -> "ParameterDict":
        out = self.copy()
        out.update(other)
        return out

    def __call__(self, input=None):
        raise RuntimeError("ParameterDict should not be called.")
