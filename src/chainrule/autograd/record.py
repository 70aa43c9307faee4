"""``cr.autograd.record()``: keep what the engine normally throws away, so a graph can be shown
(``chainrule.explain``) or exported (``chainrule.onnx``).

Ordinarily a node keeps only what its backward needs and the engine frees even that after
backward; non-leaf gradients are dropped as soon as they have been passed on. While a
:class:`Recording` is active:

* every op that runs — whether or not it needs a gradient — is logged as a :class:`RecordedOp`
  holding its node, its inputs (Tensors or constant arrays), its keyword parameters and its
  output Tensor, which the recording keeps alive;
* every comparison or logical test of Tensors (``x > 0``, ``a == b``, ``~m``, ``isnan``), which
  gives a constant mask outside the op machinery, is logged as a :class:`RecordedComparison`
  (``rec.comparisons``), so an exporter can compute the mask instead of keeping its values;
* every backward stores δ = ∂L/∂t for each recorded op's output t and for each leaf that
  receives a gradient (the δ's of the latest backward; a leaf reached on several paths gets the
  sum, as its ``.grad`` does).

Each logged op also carries the tensors' modification counter when it ran (``stamp``), so a
later in-place change to any of its inputs or its output (an optimizer step) can be detected,
and :func:`record` keeps a weak reference to each recording it makes (:func:`recent_recordings`),
so that ``chainrule.explain.trace`` finds the one that logged a tensor after its ``with`` block.

Off, it costs each op one test of a module-level flag. Recordings nest: an op or δ logged
by the innermost one is logged by every enclosing one too. Ops that backward itself runs (under
``create_graph=True``, or inside hooks) are not part of the forward graph and are not logged.

    >>> with cr.autograd.record() as rec:
    ...     z = x * y + y
    ...     z.backward()
    >>> [r.op for r in rec.ops], rec.delta(x)
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

__all__ = ["record", "Recording", "RecordedOp", "RecordedComparison", "is_recording",
           "current_recording", "recent_recordings"]

#: the active Recording (or None); function.py and engine.py read ``_active[0]``
_active: list = [None]

#: weak references to the recordings ``record()`` made, oldest first (at most _RECENT kept), so
#: that ``chainrule.explain.trace(L)`` after the ``with`` block finds the one that logged L
_recent: list = []
_RECENT = 32


@dataclass(eq=False)
class RecordedOp:
    """One op as it ran: ``output = node.forward(*inputs, **params)``."""

    index: int                  #: position in the recording (creation order)
    node: Any                   #: the op's Function instance
    inputs: tuple               #: Tensors, or constant arrays/numbers passed to the op
    params: dict = field(default_factory=dict)  #: keyword parameters given to the op
    output: Any = None          #: the output Tensor (kept alive by the recording)
    #: the in-place modification counter when the op ran: an input or output whose version is
    #: later was changed in place afterwards (None: not known)
    stamp: int | None = None

    @property
    def op(self) -> str:
        """The op's name (``mul``, ``matmul``, ``tanh`` ...)."""
        return self.node.name

    def __repr__(self) -> str:
        shape = tuple(self.output.shape) if self.output is not None else None
        return f"RecordedOp({self.index}, {self.op!r}, out={shape})"


@dataclass(eq=False)
class RecordedComparison:
    """One mask computed from Tensors without an op: ``output = numpy_name(*inputs)``."""

    index: int                  #: position in ``Recording.comparisons``
    name: str                   #: the NumPy function (``greater``, ``equal``, ``logical_not`` ...)
    inputs: tuple               #: Tensors, or constants
    output: Any = None          #: the boolean Tensor (kept alive by the recording)

    def __repr__(self) -> str:
        return f"RecordedComparison({self.index}, {self.name!r}, out={tuple(self.output.shape)})"


class Recording:
    """The ops logged while this recording was active, and the δ's of the latest backward."""

    def __init__(self) -> None:
        self.ops: list[RecordedOp] = []
        self.comparisons: list[RecordedComparison] = []
        self._by_output: dict[int, RecordedOp] = {}    # id(output tensor) -> op
        self._by_node: dict[int, RecordedOp] = {}      # id(node) -> op
        self._deltas: dict[int, Any] = {}              # id(tensor) -> array
        self._leaves: dict[int, Any] = {}              # id(leaf) -> leaf (kept alive)
        self._leaf_values: dict[int, tuple] = {}       # id(leaf input) -> (leaf, its array then)
        self._previous = None
        self.backward_count = 0

    # -- use as a context manager --------------------------------------------------------------
    def __enter__(self) -> "Recording":
        if self is _active[0] or self._previous is not None:
            raise RuntimeError("record: this recording is already active; start a new one with "
                               "cr.autograd.record()")
        self._previous = _active[0]
        _active[0] = self
        return self

    def __exit__(self, *exc) -> None:
        _active[0] = self._previous
        self._previous = None

    # -- reading it ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[RecordedOp]:
        return iter(self.ops)

    def producer(self, tensor) -> RecordedOp | None:
        """The recorded op whose output is ``tensor`` (None for leaves and constants)."""
        return self._by_output.get(id(tensor))

    def op_of_node(self, node) -> RecordedOp | None:
        """The recorded op of a ``grad_fn`` node."""
        return self._by_node.get(id(node))

    def leaf_value(self, tensor):
        """The value a leaf tensor had when a recorded op first read it (a copy), or None: a
        change made afterwards outside autograd (through ``.data``, or a NumPy view) shows as a
        difference from it."""
        entry = self._leaf_values.get(id(tensor))
        return None if entry is None else entry[1]

    def delta(self, tensor):
        """δ = ∂L/∂tensor from the latest backward run while recording (an array), or None if
        no gradient reached it."""
        return self._deltas.get(id(tensor))

    def __repr__(self) -> str:
        return f"<Recording of {len(self.ops)} ops, {self.backward_count} backward>"

    # -- filled in by Function.apply and the engine ----------------------------------------------
    def _add(self, node, inputs, params, output) -> None:
        entry = RecordedOp(len(self.ops), node, tuple(inputs), dict(params or {}), output,
                           _clock[0])
        self.ops.append(entry)
        for t in entry.inputs:   # leaves: a copy of the value the forward read, at first use
            if getattr(t, "grad_fn", 0) is None and id(t) not in self._leaf_values \
                    and id(t) not in self._by_output:
                self._leaf_values[id(t)] = (t, t._data.copy())
        self._by_output[id(output)] = entry
        self._by_node[id(node)] = entry
        if self._previous is not None:       # an enclosing recording logs it too
            self._previous._add(node, inputs, params, output)

    def _add_comparison(self, name: str, inputs, output) -> None:
        self.comparisons.append(RecordedComparison(len(self.comparisons), name, tuple(inputs),
                                                   output))
        if self._previous is not None:
            self._previous._add_comparison(name, inputs, output)

    def _begin_backward(self) -> None:
        self._deltas.clear()
        self._leaves.clear()
        self.backward_count += 1
        if self._previous is not None:
            self._previous._begin_backward()

    def _node_delta(self, node, g) -> None:
        entry = self._by_node.get(id(node))
        if entry is not None:
            self._deltas[id(entry.output)] = _array(g)
        if self._previous is not None:
            self._previous._node_delta(node, g)

    def _leaf_delta(self, leaf, g) -> None:
        key = id(leaf)
        g = _array(g)
        prev = self._deltas.get(key)
        self._deltas[key] = g.copy() if prev is None else prev + g
        self._leaves[key] = leaf
        if self._previous is not None:
            self._previous._leaf_delta(leaf, g)


def _clock_of_tensors() -> list:
    from ..tensor import _modification_counter
    return _modification_counter


class _Clock:
    """``_clock[0]``: the tensors' modification counter, looked up once on first use (the
    tensor module imports this one, so it cannot be imported at the top)."""

    counter: list | None = None

    def __getitem__(self, i: int) -> int:
        if self.counter is None:
            self.counter = _clock_of_tensors()
        return self.counter[i]


_clock = _Clock()


def _array(g):
    data = getattr(g, "_data", None)
    return g if data is None else data


def record() -> Recording:
    """Start recording: ``with cr.autograd.record() as rec: ...`` (see the module docstring)."""
    rec = Recording()
    _recent[:] = [r for r in _recent[-(_RECENT - 1):] if r() is not None]
    _recent.append(weakref.ref(rec))
    return rec


def recent_recordings() -> list[Recording]:
    """The recordings made by :func:`record` that are still alive (someone holds them, e.g.
    ``as rec``), newest first; only weak references are kept, so this keeps none alive."""
    alive = [r() for r in reversed(_recent)]
    return [r for r in alive if r is not None]


def is_recording() -> bool:
    """True inside ``with cr.autograd.record():``."""
    return _active[0] is not None


def current_recording() -> Recording | None:
    """The innermost active recording, or None."""
    return _active[0]
