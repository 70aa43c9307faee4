"""Names for the nodes of a trace.

Leaves take the names the user gives (``names={'x': x, 'y': y}``, a Module's parameter names,
the CLI's variables). Unnamed nodes get the lecture notes' names: the output of a nonlinearity
is ``a<k>`` and the value fed into it ``net<k>`` (layer k, counted from the input), the traced
output ``f``, any other intermediate ``z<j>``, an unnamed leaf ``x<j>``, and a constant its
value (``2``) or ``c<j>`` when it is not a single number.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .summary import is_scalar, summarize

__all__ = ["given_names", "Namer", "ACTIVATIONS"]

#: ops whose output the notes call an activation
ACTIVATIONS = frozenset({"sigmoid", "tanh", "relu", "softplus", "softmax", "logsoftmax", "erf"})


def given_names(names: Any) -> dict[int, str]:
    """id(tensor) -> name from ``names``: a mapping of name to Tensor (or to Module, whose
    parameters are then named ``<name>.<parameter>``), or a Module itself."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        return {id(p): n for n, p in names.named_parameters()}
    if not isinstance(names, Mapping):
        raise TypeError(f"trace: names must be a dict of name -> tensor or a Module, got "
                        f"{type(names).__name__}")
    found: dict[int, str] = {}
    for name, value in names.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"trace: names must be non-empty strings, got {name!r}")
        if hasattr(value, "named_parameters"):
            for pname, p in value.named_parameters():
                found.setdefault(id(p), f"{name}.{pname}")
        elif hasattr(value, "_data"):
            found.setdefault(id(value), name)
        else:
            raise TypeError(f"trace: names[{name!r}] is a {type(value).__name__}, not a tensor "
                            "or a Module")
    return found


class Namer:
    """Hands out unique names: the given ones first, then the notes' style for the rest."""

    def __init__(self, given: Mapping[int, str]) -> None:
        self.given = dict(given)
        self.used: set[str] = set(self.given.values())
        self._counters: dict[str, int] = {}

    def fresh(self, prefix: str) -> str:
        """``prefix`` followed by the next number not yet used (``z1``, ``z2`` …)."""
        k = self._counters.get(prefix, 0)
        while True:
            k += 1
            name = f"{prefix}{k}"
            if name not in self.used:
                self._counters[prefix] = k
                self.used.add(name)
                return name

    def take(self, name: str) -> str:
        """``name`` itself if free, else ``name'``, ``name''`` …"""
        while name in self.used:
            name += "′"
        self.used.add(name)
        return name

    def constant(self, value: Any) -> str:
        """A constant's name: its exact value when it is one number."""
        if is_scalar(value):
            text = summarize(value)
            return f"({text})" if text.startswith("-") else text
        return self.fresh("c")


def name_ops(ops: Iterable[Any], output_op: Any, producer_of, namer: Namer) -> dict[int, str]:
    """id(recorded op) -> name for every op not named by the user, in topological order:
    ``a<k>`` / ``net<k>`` around each nonlinearity, ``f`` for the output, ``z<j>`` otherwise."""
    ops = list(ops)
    names: dict[int, str] = {}
    for op in ops:
        given = namer.given.get(id(op.output))
        if given is not None:
            names[id(op)] = given
    layer = 0
    for op in ops:
        if op.op not in ACTIVATIONS or op is output_op:
            continue
        layer += 1
        if id(op) not in names:
            names[id(op)] = namer.take(f"a{layer}")
        first = op.inputs[0] if op.inputs else None
        feeding = producer_of(first) if first is not None else None
        if feeding is not None and id(feeding) not in names and feeding is not output_op:
            names[id(feeding)] = namer.take(f"net{layer}")
    if id(output_op) not in names:
        names[id(output_op)] = namer.take("f")
    for op in ops:
        if id(op) not in names:
            names[id(op)] = namer.fresh("z")
    return names
