"""The reverse-mode engine: walk the graph backwards from the outputs, once, without recursion.

For every node u, ∂L/∂u = Σ_{v consuming u} ∂L/∂v · ∂v/∂u (the chain rule summed over paths). Each
node is stamped with its creation order when the forward records it, and every consumer of a node
is created after it; so the engine keeps the nodes that have received a gradient in a max-heap on
that stamp and always runs the newest: when a node runs, every consumer that could send it a
gradient already has, and each node runs once, in a topological order, without a pass to count
dependencies and without recursion (a chain of a million ops does not touch Python's recursion
limit). A node's gradient is dropped as soon as its backward has run, and its saved arrays are
released unless ``retain_graph=True``.

A leaf with hooks collects its gradient over every path; its hooks run as soon as that gradient is
final: when every edge into it from the nodes this backward can reach has delivered (counted by a
walk over the graph that runs only while some leaf has a hook), or at the end of the walk for a
leaf some of whose consumers never received a gradient. Callbacks queued with
:func:`queue_callback` while a backward runs are called once its walk is over.
"""
from __future__ import annotations

import sys
from heapq import heappop, heappush
from typing import Sequence

import numpy as np

from .. import backend
from ..axis_sums import sum_over
from . import anomaly, grad_mode
from .hooks import leaf_hook_count as _leaf_watchers
from .record import _active as _recording

__all__ = ["backward", "grad", "unbroadcast", "queue_callback"]

_modules = sys.modules
# One list of final callbacks per backward in progress (innermost last).
_final_callbacks: list = []


def queue_callback(callback) -> None:
    """Call ``callback()`` once the backward now running has finished its walk over the graph
    (PyTorch's ``Variable._execution_engine.queue_callback``); callbacks run in queued order."""
    if not _final_callbacks:
        raise RuntimeError("queue_callback: final callbacks can only be queued while a backward "
                           "is running (from a hook)")
    _final_callbacks[-1].append(callback)


def unbroadcast(xp, g, shape: tuple):
    """Sum ``g`` down to ``shape``: the gradient of a broadcast is the sum over broadcast axes."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:   # NumPy arrays: the faster grouping of axis_sums; Tensors (create_graph): ops.sum
        g = sum_over(g, axes, True) if xp is np else xp.sum(g, axis=axes, keepdims=True)
    if extra:
        g = xp.reshape(g, shape)
    return g


def _freed(node) -> RuntimeError:
    return RuntimeError(
        f"backward through {node.name} a second time: its saved values were freed after the "
        "first backward. Pass retain_graph=True to the first backward if you need it twice")


def _run(roots: Sequence, root_grads: Sequence, retain_graph: bool, create_graph: bool,
         capture: dict | None = None, accumulate: bool = True) -> dict:
    """Propagate ``root_grads`` back (see :func:`_walk`); while a ``cr.autograd.record()`` is
    active, store every δ in it, and log none of the ops backward itself runs. Then call the
    callbacks queued during the walk."""
    rec = _recording[0]
    callbacks: list = []
    _final_callbacks.append(callbacks)
    try:
        if rec is None:
            out = _walk(roots, root_grads, retain_graph, create_graph, capture, accumulate, None)
        else:
            rec._begin_backward()
            _recording[0] = None
            try:
                out = _walk(roots, root_grads, retain_graph, create_graph, capture, accumulate,
                            rec)
            finally:
                _recording[0] = rec
        i = 0
        while i < len(callbacks):      # a callback may queue another
            callbacks[i]()
            i += 1
        return out
    finally:
        _final_callbacks.pop()


def _walk(roots: Sequence, root_grads: Sequence, retain_graph: bool, create_graph: bool,
          capture: dict | None, accumulate: bool, rec) -> dict:
    """Propagate ``root_grads`` from the ``roots`` tensors to the leaves.

    ``rec`` is the active recording (or None), which receives each node's and leaf's δ.
    ``capture`` maps id(leaf) or id(node) -> slot for tensors whose gradient is returned instead of
    (``accumulate=False``) or besides being accumulated into ``.grad``. Returns slot -> gradient.

    Aliasing rule (ordinary mode): backward rules return fresh arrays, their incoming gradient
    itself, or views of it, and never write into them; the only arrays written in place later are
    leaves' ``.grad`` (accumulation, optimizers, clipping). So a leaf's first gradient is copied
    exactly when it might be shared: it is a view, it is the node's incoming gradient, or the same
    array was handed to another input of the same node.
    """
    from ..tensor import Tensor
    from .. import ops

    captured: dict = {}
    pending: dict = {}
    root_nodes = []
    wrap = Tensor._wrap

    # While some leaf has a hook, every leaf collects its gradient over every path first; its
    # hooks (even ones registered during this backward) then run once, on the total (PyTorch's
    # rule), as soon as it is final: id(leaf) -> [leaf, grad, shared].
    hooked: dict = {}
    # id(leaf) -> edges (and roots) still to deliver into it; None while no leaf has a hook.
    remaining = _edges_into_leaves(roots) if _leaf_watchers[0] else None

    def give_leaf(t, g, shared: bool):
        if (remaining is not None or t._hooks is not None) and (
                accumulate or id(t) in capture):    # grad(): only its inputs' hooks run
            key = id(t)
            entry = hooked.get(key)
            if entry is None:
                entry = hooked[key] = [t, g, shared]
            else:
                entry[1], entry[2] = entry[1] + g, False
            if remaining is not None:
                left = remaining.get(key)
                if left is not None:
                    if left > 1:
                        remaining[key] = left - 1
                    else:
                        del remaining[key], hooked[key]
                        finish_leaf(*entry)
            return
        deliver(t, g, shared)

    def deliver(t, g, shared: bool):
        if rec is not None:
            rec._leaf_delta(t, g)
        if capture is not None:
            slot = capture.get(id(t))
            if slot is not None:
                captured[slot] = g if slot not in captured else captured[slot] + g
        if not accumulate:
            return
        grad = t.grad
        if create_graph:
            t.grad = g if grad is None else grad + g
        elif grad is None:
            if shared or g.base is not None or g.dtype != t._data.dtype:
                g = g.astype(t._data.dtype, copy=True)
            t.grad = wrap(g, False, None)
        elif grad.requires_grad:
            t.grad = wrap(grad._data + g, False, None)
        else:
            grad._data += g

    def finish_leaf(t, g, shared: bool):
        if t._hooks is None:
            deliver(t, g, shared)
            return
        for hook in tuple(t._hooks.pre):
            r = hook(g if create_graph else wrap(g, False, None))
            if r is not None:
                g, shared = (r if create_graph else r._data), True
        deliver(t, g, shared)
        if accumulate and t._hooks is not None:
            for hook in tuple(t._hooks.post):
                hook(t)

    def finish_hooked_leaves():
        for entry in tuple(hooked.values()):
            finish_leaf(*entry)
        hooked.clear()

    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            give_leaf(t, g, True)
        else:
            prev = pending.get(t.grad_fn)
            pending[t.grad_fn] = g if prev is None else prev + g
            root_nodes.append(t.grad_fn)
    if not root_nodes:
        with grad_mode.set_grad_enabled(create_graph):
            finish_hooked_leaves()
        return captured

    # Nodes run in decreasing creation order (a max-heap on ``_seq``): every consumer of a node
    # was created after it, so by the time a node is popped each consumer reachable from the
    # roots has run and its gradient is complete. No dependency-counting pass is needed.
    ready: list = []
    for n in dict.fromkeys(root_nodes):
        heappush(ready, (-n._seq, n))
    xp = ops if create_graph else None
    check = anomaly._enabled[0]
    plain_xp = np if "cupy" not in _modules else None   # CuPy arrays choose their own module
    from ..tensor import _modification_counter as counter, _nonleaf_watchers as watchers
    from ..tensor import _rebased
    rebased = _rebased[0]       # in-place ops recorded in a graph: see api/inplace_graph.py

    with grad_mode.set_grad_enabled(create_graph):
        # The node queued last and its gradient wait outside the heap and ``pending``: in a
        # chain it is the next to run, and then neither is touched.
        newest = newest_grad = None
        while True:
            if newest is not None and (not ready or newest._seq > -ready[0][0]):
                node, g = newest, newest_grad
                newest = newest_grad = None
            else:
                if newest is not None:
                    pending[newest] = newest_grad
                    heappush(ready, (-newest._seq, newest))
                    newest = newest_grad = None
                if not ready:
                    break
                node = heappop(ready)[1]
                g = pending.pop(node)       # only nodes that received a gradient are queued
            if node.saved is None:
                raise _freed(node)
            if watchers[0]:
                out = node._out_ref()
                if out is not None:
                    if out._hooks is not None or out._retains_grad:
                        g = _tensor_hooks(out, g, create_graph, wrap)
                else:       # the tensor is gone; hooks registered on it stay with its node
                    hooks = getattr(node._out_ref, "hooks", None)
                    if hooks is not None and hooks.pre:
                        g = _run_pre_hooks(hooks.pre, g, create_graph, wrap)
            if capture is not None:
                slot = capture.get(id(node))
                if slot is not None:
                    captured[slot] = g
            if rec is not None:
                rec._node_delta(node, g)
            ran_at = node._ran_at
            if ran_at is not None and ran_at != counter[0]:
                node.check_versions()   # something was changed in place since the op ran
            if create_graph:
                raw = node.saved
                node.saved = node.saved_as_tensors()
                if check:
                    anomaly.backward_stack.append(node)
                try:
                    grads = node.backward(xp, g)
                finally:
                    node.saved = raw
                    if check:
                        anomaly.backward_stack.pop()
            else:
                grads = node.backward(plain_xp or backend.get_array_module(g), g)
            if check:
                anomaly.check_backward(node, grads)
            for t, need, gi in zip(node.inputs, node.needs_input_grad, grads):
                if not need or gi is None:
                    continue
                shape = t._data.shape
                if gi.shape != shape:
                    gi = unbroadcast(xp or np, gi, shape)
                parent = t.grad_fn
                if rebased:
                    # t was changed in place after this node used it: its value then was the
                    # one before the change, made by the node the change replaced
                    while parent is not None and parent._seq > node._seq:
                        parent = getattr(parent, "_replaced", None)
                if parent is None:
                    give_leaf(t, gi, gi is g or (len(grads) > 1 and _repeated(grads, gi)))
                    continue
                if parent is newest:
                    newest_grad = newest_grad + gi
                    continue
                prev = pending.get(parent)
                if prev is None:
                    if newest is not None:
                        pending[newest] = newest_grad
                        heappush(ready, (-newest._seq, newest))
                    newest, newest_grad = parent, gi
                else:
                    pending[parent] = prev + gi
            if not retain_graph:
                node.saved = None
                node.inputs = None
        if hooked:
            finish_hooked_leaves()
    return captured


def _edges_into_leaves(roots: Sequence) -> dict:
    """id(leaf) -> how many edges into it (from the nodes reachable from ``roots``, plus the
    times it is itself a root) will carry a gradient: when that many have arrived, its gradient
    is final. Every leaf is counted, so a hook registered during the backward sees the total."""
    counts: dict = {}
    for t in roots:
        if t.grad_fn is None:
            counts[id(t)] = counts.get(id(t), 0) + 1
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    seen = set(stack)
    push, pop, add = stack.append, stack.pop, seen.add
    while stack:
        node = pop()
        inputs = node.inputs
        if inputs is None:      # freed: the walk will report it
            continue
        for t, need in zip(inputs, node.needs_input_grad):
            if need:
                parent = t.grad_fn
                if parent is None:
                    key = id(t)
                    counts[key] = counts.get(key, 0) + 1
                elif parent not in seen:
                    add(parent)
                    push(parent)
    return counts


def _repeated(grads, gi) -> bool:
    """True when the array ``gi`` appears more than once in ``grads`` (by identity)."""
    seen = False
    for o in grads:
        if o is gi:
            if seen:
                return True
            seen = True
    return False


def _run_pre_hooks(hooks, g, create_graph: bool, wrap):
    """``hook(grad)`` for each hook in order; a returned Tensor replaces the gradient."""
    for hook in tuple(hooks):
        r = hook(g if create_graph else wrap(g, False, None))
        if r is not None:
            g = r if create_graph else r._data
    return g


def _tensor_hooks(out, g, create_graph: bool, wrap):
    """Run a non-leaf tensor's hooks and keep its ``.grad`` if it retains it."""
    if out._hooks is not None:
        g = _run_pre_hooks(out._hooks.pre, g, create_graph, wrap)
    if out._retains_grad:
        gv = g if create_graph else wrap(g.copy(), False, None)
        out.grad = gv if out.grad is None else out.grad + gv
    return g


def _as_grad_array(t, gradient, create_graph: bool):
    from ..tensor import Tensor

    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, but the output "
                f"has shape {tuple(t.shape)}; pass gradient= with that shape")
        data = t._data
        g = (np.ones(data.shape, data.dtype) if isinstance(data, np.ndarray)
             else backend.get_array_module(data).ones_like(data))
    else:
        g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"backward: gradient has shape {tuple(g.shape)} but the output "
                               f"has shape {tuple(t.shape)}")
        g = g.astype(t._data.dtype, copy=True)
    if create_graph:
        return gradient if isinstance(gradient, Tensor) and gradient.requires_grad \
            else Tensor._wrap(g, False, None)
    return g


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(tensors)/d(leaf) · grad_tensors into the ``.grad`` of every leaf."""
    from ..tensor import Tensor

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn "
                               "(was it computed under no_grad, or from tensors that do not "
                               "require grad?)")
    if retain_graph is None:
        retain_graph = create_graph
    gs = [_as_grad_array(t, g, create_graph) for t, g in zip(tensors, grad_tensors)]
    _run(tensors, gs, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Return d(outputs)/d(inputs) · grad_outputs without touching any ``.grad`` (PyTorch's
    ``torch.autograd.grad``, same signature). ``materialize_grads`` gives zeros instead of None
    for unused inputs (and implies ``allow_unused``); ``only_inputs`` is ignored as in PyTorch;
    ``is_grads_batched=True`` is not supported."""
    from ..tensor import Tensor

    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported; call grad once "
                                  "per row of grad_outputs (or use chainrule.func.vjp)")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused to be None or True")

    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {tuple(t.shape)} does not require grad")
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an output does not require grad (it does not depend on "
                               "any input that requires grad)")
    if retain_graph is None:
        retain_graph = create_graph
    capture: dict = {}
    slot_of = []    # an input given twice shares the first occurrence's slot
    for i, t in enumerate(inputs):
        key = id(t.grad_fn) if t.grad_fn is not None else id(t)
        slot_of.append(capture.setdefault(key, i))
    gs = [_as_grad_array(t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    captured = _run(outputs, gs, retain_graph, create_graph, capture=capture, accumulate=False)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(slot_of[i])
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                                   "outputs; pass allow_unused=True to get None for it")
            result.append(Tensor._wrap(backend.get_array_module(t._data).zeros_like(t._data),
                                       False, None) if materialize_grads else None)
        else:
            result.append(g if create_graph else Tensor._wrap(g.copy(), False, None))
    return tuple(result)
