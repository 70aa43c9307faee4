"""Finding the graph behind a tensor, and its δ's.

A trace reads a :class:`~chainrule.autograd.record.Recording`: the one active (``with
cr.autograd.record():``), the one passed as ``recording=``, or — for a graph built outside any
recording but still alive — one rebuilt here from the ``grad_fn`` links (each node's inputs are
Tensors, so every intermediate value is reachable while the graph has not been freed).

δ's are the engine's: those of the latest backward run while recording, when it reached the
traced output; otherwise :func:`ensure_deltas` runs one itself with ``cr.autograd.grad`` (so no
``.grad`` changes) and ``retain_graph=True`` (so the graph stays usable).
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from ..autograd.record import Recording, current_recording
from ..tensor import Tensor

__all__ = ["find_recording", "subgraph", "ensure_deltas", "check_unchanged", "GraphFreedError"]


class GraphFreedError(RuntimeError):
    """The graph of the traced tensor was freed by a backward pass and nothing recorded it."""


def _freed_message(what: str) -> str:
    return (f"trace: {what} was freed by an earlier backward and was not recorded; run the "
            "forward inside `with cr.autograd.record():` (trace reads the recording, even after "
            "backward), or pass retain_graph=True to that backward")


def _alive(node: Any) -> bool:
    return getattr(node, "saved", None) is not None and getattr(node, "inputs", None) is not None


def _rebuild(output: Tensor) -> Recording:
    """A Recording of the live graph behind ``output``, from its ``grad_fn`` links (ops with
    their inputs and output tensors; their keyword parameters are not known, which only a
    replay would need, and a live graph needs none)."""
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
        rec._add(node, node.inputs, {}, outputs[id(node)])
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
        if rec.producer(output) is not None:
            return rec, False
    if output.grad_fn is None and output.requires_grad:
        return Recording(), True            # a leaf by itself: a trace of one node, δ = 1
    if output.grad_fn is None:
        raise ValueError("trace: this tensor was not produced by any recorded op and has no "
                         "graph (a constant, or computed without gradients); compute it inside "
                         "`with cr.autograd.record():` from tensors that require grad")
    return _rebuild(output), True


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


def ensure_deltas(rec: Recording, output: Tensor, ops: list, sources: list,
                  gradient: Any = None) -> None:
    """Make sure ``rec`` holds δ's for this graph: keep those of a backward that reached
    ``output``; otherwise run ``cr.autograd.grad`` from ``output`` while ``rec`` records."""
    if not output.requires_grad:
        return
    if rec.delta(output) is not None and gradient is None:
        return
    if output._data.size != 1 and gradient is None:
        raise ValueError(f"trace: the output has shape {tuple(output.shape)}; δ's start from a "
                         "scalar, so trace a scalar (e.g. a loss) or pass gradient= (the δ of "
                         "the output, of its shape)")
    for entry in ops:
        if entry.output.requires_grad and not _alive(entry.node):
            raise GraphFreedError(_freed_message(
                f"the graph (op {entry.index}, {entry.op})"))
    wrt = [t for t in sources if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        return
    from ..autograd import grad
    if gradient is not None and not isinstance(gradient, Tensor):
        gradient = Tensor._wrap(np.asarray(gradient, dtype=output._data.dtype), False, None)
    # enter the recording for the backward unless it is already the active one (entering it a
    # second time would lose the recording it was nested in)
    active = current_recording() is rec
    with contextlib.nullcontext() if active else rec:
        grad(output, wrt, grad_outputs=gradient, retain_graph=True, allow_unused=True)


def check_unchanged(ops: list) -> None:
    """Refuse a graph whose values were changed in place after its ops ran (an optimizer step
    between the forward and the trace): the values a trace would show, and the ops it would
    replay, are no longer those of the forward. Each op that saved values for backward carries
    the modification stamp of its run, which every in-place change (optimizers included)
    advances."""
    from ..autograd.function import version_of
    for entry in ops:
        ran_at = getattr(entry.node, "_ran_at", None)
        if ran_at is None:
            continue
        for t in (*entry.inputs, entry.output):
            if isinstance(t, Tensor) and version_of(t) > ran_at:
                raise RuntimeError(
                    f"trace: a tensor of shape {tuple(t.shape)} used by op {entry.index} "
                    f"({entry.op}) was modified in place after the op ran (an optimizer step?), "
                    "so the recorded graph no longer shows its values; trace before changing "
                    "them")
