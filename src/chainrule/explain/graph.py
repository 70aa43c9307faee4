"""Finding the graph behind a tensor, and its δ's.

A trace reads a :class:`~chainrule.autograd.record.Recording`: the one passed as
``recording=``, the one active (``with cr.autograd.record():``), a recording made earlier that
is still alive and logged the output (``with cr.autograd.record() as rec: …`` then ``trace(L)``
after the block), or — for a graph built outside any recording but still alive — one rebuilt
here from the ``grad_fn`` links (each node's inputs are Tensors, so every intermediate value is
reachable while the graph has not been freed).

δ's are the engine's: those of the latest backward run while recording, when it reached the
traced output; otherwise :func:`ensure_deltas` runs one itself with ``cr.autograd.grad`` (so no
``.grad`` changes) and ``retain_graph=True`` (so the graph stays usable), storing its δ's apart
from the recording's (a trace never changes ``rec.delta``). When that graph was freed by a
backward run outside the recording, the δ's are computed by replaying each recorded op's own
backward, output to inputs (see :mod:`.replay`) — the same chain rule, without the engine's
hooks.
"""
from __future__ import annotations

import contextlib
import inspect
from typing import Any

import numpy as np

from ..autograd.record import _active as _active_recording
from ..autograd.record import Recording, current_recording, recent_recordings
from ..tensor import Tensor

__all__ = ["find_recording", "subgraph", "ensure_deltas", "check_unchanged", "GraphFreedError"]


class GraphFreedError(RuntimeError):
    """The graph of the traced tensor was freed by a backward pass and nothing recorded it."""


def _freed_message(what: str) -> str:
    return (f"trace: {what} was freed by an earlier backward, and no live recording logged it; "
            "run the forward inside `with cr.autograd.record() as rec:` and keep rec (trace "
            "finds it, even after the block; or pass recording=rec), or pass retain_graph=True "
            "to that backward")


def _alive(node: Any) -> bool:
    return getattr(node, "saved", None) is not None and getattr(node, "inputs", None) is not None


def _known_params(node: Any) -> dict:
    """The keyword parameters of a live node's forward that the node kept as attributes of the
    same name (PowScalar's ``p``, Clip's ``lo`` and ``hi``): shown in its formula. Parameters
    it did not keep stay unknown (a live graph needs them for nothing but the display)."""
    try:
        params = list(inspect.signature(type(node).forward).parameters.values())[2:]
    except (TypeError, ValueError):
        return {}
    n_inputs = len(node.inputs or ())
    names = []
    for i, p in enumerate(params):
        if p.kind is p.VAR_POSITIONAL:
            n_inputs = 0
            continue
        if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and i >= n_inputs):
            names.append(p.name)
    kept = getattr(node, "__dict__", {})
    return {n: kept[n] for n in names if n in kept}


def _rebuild(output: Tensor) -> Recording:
    """A Recording of the live graph behind ``output``, from its ``grad_fn`` links (ops with
    their inputs and output tensors; of their keyword parameters only those the node kept are
    known (see :func:`_known_params`), which is enough: a live graph is never replayed)."""
    outputs: dict[int, Tensor] = {id(output.grad_fn): output}
    order: list = []
    seen: set[int] = set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        if not _alive(node):
            raise GraphFreedError(_freed_message("the graph that produced this tensor"))
        seen.add(id(node))
        order.append(node)
        for t in node.inputs:
            if isinstance(t, Tensor) and t.grad_fn is not None:
                outputs.setdefault(id(t.grad_fn), t)
                stack.append(t.grad_fn)
    rec = Recording()
    for node in sorted(order, key=lambda n: n._seq):     # creation order is topological
        rec._add(node, node.inputs, _known_params(node), outputs[id(node)])
        rec.ops[-1].stamp = getattr(node, "_ran_at", None)   # not now: when the op ran
    return rec


def find_recording(output: Tensor, recording: Any = None) -> tuple[Recording, bool]:
    """``(recording, rebuilt)``: the recording that logged ``output``'s op, or one rebuilt from
    its live graph (``rebuilt`` True)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"trace: expected a Tensor, got {type(output).__name__}")
    candidates = [recording] if recording is not None else []
    current = current_recording()
    if current is not None and current is not recording:
        candidates.append(current)
    for rec in candidates:
        if not isinstance(rec, Recording):
            raise TypeError(f"trace: recording must be a cr.autograd.record() Recording, got "
                            f"{type(rec).__name__}")
        if _logged(rec, output):
            return rec, False
    for rec in recent_recordings():
        if _logged(rec, output):
            return rec, False
    if output.grad_fn is None and output.requires_grad:
        return Recording(), True            # a leaf by itself: a trace of one node, δ = 1
    if output.grad_fn is None:
        raise ValueError("trace: this tensor was not produced by any recorded op and has no "
                         "graph (a constant, or computed without gradients); compute it inside "
                         "`with cr.autograd.record():` from tensors that require grad")
    return _rebuild(output), True


def _logged(rec: Recording, output: Tensor) -> bool:
    entry = rec.producer(output)
    return entry is not None and entry.output is output


def subgraph(rec: Recording, output: Tensor) -> tuple[list, list]:
    """``(ops, sources)``: the recorded ops ``output`` depends on, in recording (topological)
    order, and the inputs that no recorded op produced — leaves, constants, and tensors
    computed before recording began — in order of first use."""
    needed: dict[int, Any] = {}
    if rec.producer(output) is None:
        return [], [output]
    stack = [rec.producer(output)]
    while stack:
        entry = stack.pop()
        if id(entry) in needed:
            continue
        needed[id(entry)] = entry
        for x in entry.inputs:
            p = rec.producer(x) if isinstance(x, Tensor) else None
            if p is not None and id(p) not in needed:
                stack.append(p)
    ops = sorted(needed.values(), key=lambda e: e.index)
    sources: dict[int, Any] = {}
    for entry in ops:
        for x in entry.inputs:
            if not (isinstance(x, Tensor) and rec.producer(x) is not None):
                sources.setdefault(id(x), x)
    return ops, list(sources.values())


class _Deltas(Recording):
    """Where a trace's own backward stores its δ's: a Recording that knows ``rec``'s ops (to
    file each node's δ under its output) but keeps its δ's to itself."""

    def __init__(self, rec: Recording) -> None:
        super().__init__()
        self._by_output = dict(rec._by_output)
        self._by_node = dict(rec._by_node)


@contextlib.contextmanager
def _collecting(store: Recording):
    """Make ``store`` the active recording for one backward (not via ``with store:``, so the
    recording it replaces is restored exactly)."""
    previous = _active_recording[0]
    _active_recording[0] = store
    try:
        yield store
    finally:
        _active_recording[0] = previous


def ensure_deltas(rec: Recording, output: Tensor, ops: list, sources: list,
                  gradient: Any = None) -> Recording:
    """The δ's of this graph, as a Recording to read ``.delta(t)`` from: ``rec`` itself when a
    recorded backward reached ``output`` (and no ``gradient`` is given); otherwise a separate
    store, filled by ``cr.autograd.grad`` from ``output`` (retain_graph=True) or, where that
    graph was freed, by replaying each op's backward. ``rec``'s own δ's are never changed."""
    if not output.requires_grad:
        return rec
    if rec.delta(output) is not None and gradient is None:
        return rec
    if output._data.size != 1 and gradient is None:
        raise ValueError(f"trace: the output has shape {tuple(output.shape)}; δ's start from a "
                         "scalar, so trace a scalar (e.g. a loss) or pass gradient= (the δ of "
                         "the output, of its shape)")
    if gradient is not None and not isinstance(gradient, Tensor):
        gradient = Tensor._wrap(np.asarray(gradient, dtype=output._data.dtype), False, None)
    if gradient is not None and tuple(gradient.shape) != tuple(output.shape):
        raise ValueError(f"trace: gradient= has shape {tuple(gradient.shape)}, but the output "
                         f"has shape {tuple(output.shape)}")
    store = _Deltas(rec)
    freed = [e for e in ops if e.output.requires_grad and not _alive(e.node)]
    if freed:               # only a real recording can hold freed ops (_rebuild refuses them)
        _replay_deltas(store, output, ops, gradient)
        return store
    wrt = [t for t in sources if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        return store
    from ..autograd import grad
    with _collecting(store):
        grad(output, wrt, grad_outputs=gradient, retain_graph=True, allow_unused=True)
    return store


def _replay_deltas(store: Recording, output: Tensor, ops: list, gradient: Any) -> None:
    """δ's by the chain rule on the recorded ops, newest first: each op's backward (replayed
    from its recorded inputs and parameters) splits its output's δ among its inputs."""
    from .. import backend
    from .replay import input_gradients
    xp = backend.get_array_module(output._data)
    deltas = store._deltas
    deltas[id(output)] = gradient._data if gradient is not None else \
        xp.ones_like(output._data)
    for entry in reversed(ops):
        delta = deltas.get(id(entry.output))
        if delta is None:
            continue
        for x, g in zip(entry.inputs, input_gradients(entry, delta)):
            if g is None:
                continue
            prev = deltas.get(id(x))
            deltas[id(x)] = g.copy() if prev is None else prev + g


def check_leaves_unchanged(rec, sources) -> None:
    """Refuse a graph whose leaves changed after the forward outside autograd's version
    counters — through ``.data`` (``w.data -= lr * w.grad``, as PyTorch keeps ``.data`` out of
    them) or a NumPy view: the recording kept a copy of each leaf's value as the forward read
    it, and the leaf must still hold it."""
    import numpy as np
    for s in sources:
        then = rec.leaf_value(s) if hasattr(rec, "leaf_value") else None
        if then is None:
            continue
        now = s._data
        same = np.array_equal(then, now, equal_nan=then.dtype.kind in "fc")
        if not same:
            raise RuntimeError(
                f"trace: a leaf tensor of shape {tuple(s.shape)} changed after the forward ran "
                "(through .data or a NumPy view, e.g. an update w.data -= lr * w.grad), so the "
                "recorded graph no longer shows its values; trace before changing them")


def check_unchanged(ops: list) -> None:
    """Refuse a graph whose values were changed in place after its ops ran (an optimizer step
    between the forward and the trace): the values a trace would show, and the ops it would
    replay, are no longer those of the forward. Every in-place change (optimizers included)
    stamps the tensor with the advanced modification counter; a recorded op carries the
    counter's value when it ran, and so does an op of a live graph that saved values for
    backward. Every input and the output of each op are compared with it."""
    from ..autograd.function import version_of
    for entry in ops:
        stamps = [s for s in (getattr(entry, "stamp", None),
                              getattr(entry.node, "_ran_at", None)) if s is not None]
        if not stamps:
            continue
        ran_at = min(stamps)
        for t in (*entry.inputs, entry.output):
            if isinstance(t, Tensor) and version_of(t) > ran_at:
                raise RuntimeError(
                    f"trace: a tensor of shape {tuple(t.shape)} used by op {entry.index} "
                    f"({entry.op}) was modified in place after the op ran (an optimizer step?), "
                    "so the recorded graph no longer shows its values; trace before changing "
                    "them")
