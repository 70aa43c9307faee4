"""Walking a recording into a :class:`GraphBuilder`, checked against a second recording.

The exporter records the forward twice (see :mod:`.twin`): ``rec`` on the example, ``twin`` on
another input. Every op written is paired with the same op of the twin run: a constant or a
parameter that differs between the two is data (or batch) dependent and is refused, unless it
is a recorded comparison (written as ONNX ops, :mod:`.comparisons`) or a ``where`` mask
rebuilt as ``Greater(t, 0)``; an axis whose size differs follows the batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..autograd.record import RecordedComparison, RecordedOp
from ..tensor import Tensor
from .comparisons import emit_comparison
from .emitters import EMITTERS
from .graph import ExportError, GraphBuilder
from .modules import pattern_for
from .twin import describe, difference, same

__all__ = ["Walker", "ModuleCall"]

#: positional op arguments that are shape targets, checked by their emitters instead
_SHAPE_ARGUMENTS = {("reshape", 1), ("broadcastto", 1)}
_SHAPE_PARAMS = {("reshape", "shape"), ("broadcastto", "shape")}


@dataclass(eq=False)
class ModuleCall:
    """One call of a module's forward: the recorded ops [start, end) it produced."""
    path: str
    module: Any
    start: int
    end: int = -1
    input: Any = None
    output: Any = None


def _where(path: str) -> str:
    return f"module '{path}'" if path else "the top-level module"


class Walker:
    """Writes the ops the outputs need, in the order they ran."""

    def __init__(self, g: GraphBuilder, rec, twin, calls: list[ModuleCall],
                 what_twin: str) -> None:
        self.g, self.rec, self.twin, self.calls = g, rec, twin, calls
        self.what_twin = what_twin          # "an input of batch size 6" (for messages)
        self.path = [""] * len(rec.ops)
        for call in calls:                       # outer calls first: inner ones overwrite
            for i in range(call.start, call.end):
                self.path[i] = call.path
        self.comparison_of: dict[int, RecordedComparison] = {}   # id(mask Tensor or array)
        for comp in rec.comparisons:
            self.comparison_of[id(comp.output)] = comp
            self.comparison_of[id(comp.output._data)] = comp
        self.consumers: dict[int, list[int]] = {}     # id(tensor) -> indices of ops reading it
        for op in rec.ops:
            for t in self.sources(op.inputs):
                self.consumers.setdefault(id(t), []).append(op.index)
        self.starting: dict[int, list[ModuleCall]] = {}
        for call in calls:
            if call.end > call.start and pattern_for(call.module) is not None:
                self.starting.setdefault(call.start, []).append(call)

    # -- what reads what -----------------------------------------------------------------------
    def sources(self, args: Sequence[Any]) -> list[Tensor]:
        """The Tensors that ``args`` read: themselves, or through recorded comparisons."""
        out, todo, seen = [], list(args), set()
        while todo:
            x = todo.pop()
            comp = self.comparison_of.get(id(x))
            if comp is not None:
                if comp.index not in seen:
                    seen.add(comp.index)
                    todo.extend(comp.inputs)
            elif isinstance(x, Tensor):
                out.append(x)
        return out

    def needed(self, outputs: Sequence[Tensor]) -> set[int]:
        """Indices of the recorded ops the outputs depend on."""
        need: set[int] = set()
        todo = self.sources(outputs)
        while todo:
            op = self.rec.producer(todo.pop())
            if op is None or op.index in need:
                continue
            need.add(op.index)
            todo.extend(self.sources(op.inputs))
        return need

    def batch_first(self, value: Any, twin_value: Any) -> bool:
        """True if axis 0 of ``value`` is the batch (the example's batch size here, the twin's
        there)."""
        g = self.g
        return bool(g.batch_size is not None and isinstance(value, Tensor) and value.ndim and
                    twin_value is not None and np.ndim(twin_value) and
                    value.shape[0] == g.batch_size and
                    np.shape(twin_value)[0] == g.twin_batch_size)

    # -- constants -----------------------------------------------------------------------------
    def refuse(self, where: str, argument: str, value: Any, twin_value: Any) -> None:
        why = difference(value, twin_value)
        fix = ("export with dynamic_batch=False" if why.startswith("its shape") else
               "compute it with chainrule ops on Tensors (comparisons, where, arithmetic) "
               "instead of reading values out (.item(), .numpy(), x.shape), or, if it is the "
               "batch size that changes it, export with dynamic_batch=False")
        raise ExportError(f"onnx.export: cannot export {where}: {argument} is {describe(value)} "
                          f"computed outside the recorded ops, and {why} (seen by running the "
                          f"model again on {self.what_twin}), so the ONNX graph would keep the "
                          f"example's value; {fix}")

    def constant(self, x: Any, x_twin: Any, where: str, argument: str) -> str | None:
        """The ONNX name of an argument no written op made: a recorded comparison (written
        now), or a constant that must be the same in the twin run (then an initializer for a
        Tensor, None for a plain array or number, which the emitter writes)."""
        g = self.g
        comp = self.comparison_of.get(id(x))
        if comp is not None:
            name = g.derived.get(comp.index)
            if name is None:
                name = self.comparison(comp, where)
            if isinstance(x, Tensor):
                g.bind(x, name)
            else:
                g.array_names[id(x)] = name
            return name
        if not same(x, x_twin):
            self.refuse(where, argument, x, x_twin)
        if isinstance(x, Tensor):
            name = g.initializer(x._data, "const")
            g.bind(x, name)
            return name
        return None

    def comparison(self, comp: RecordedComparison, where: str) -> str:
        g = self.g
        twin = self.twin.comparisons[comp.index]
        operands = []
        for k, (x, x_twin) in enumerate(zip(comp.inputs, twin.inputs)):
            if g.has(x):
                operands.append((g.name(x), x))
            else:
                operands.append((self.constant(x, x_twin, where,
                                               f"input {k} of its comparison '{comp.name}'"), x))
        saved, g.where = g.where, f"{where}, comparison '{comp.name}'"
        name = emit_comparison(g, comp, operands)
        g.where = saved
        g.derived[comp.index] = name
        return name

    def where_mask(self, op: RecordedOp, twin: RecordedOp) -> str | None:
        """``where``'s mask as ``Greater(t, 0)`` for one of its own inputs t, if that is what it
        is in both runs (LeakyReLU, ELU, PReLU compute their masks so)."""
        g = self.g
        cond, cond_twin = op.inputs[0], twin.inputs[0]
        for k in (1, 2):
            t, t_twin = op.inputs[k], twin.inputs[k]
            if isinstance(t, Tensor) and g.has(t) and isinstance(t_twin, Tensor) and \
                    np.shape(cond) == t.shape and np.shape(cond_twin) == t_twin.shape and \
                    np.array_equal(np.asarray(cond), t._data > 0) and \
                    np.array_equal(np.asarray(cond_twin), t_twin._data > 0):
                zero = g.const(np.asarray(0, dtype=np.dtype(t.dtype)))
                return g.node("Greater", [g.name(t), zero], "positive")
        return None

    def bind_arguments(self, op: RecordedOp, twin: RecordedOp, where: str) -> None:
        """Bind the op's inputs that no written op made; each must be what it is in the twin
        run (see :meth:`constant`)."""
        g = self.g
        for k, (x, x_twin) in enumerate(zip(op.inputs, twin.inputs)):
            if g.has(x) or (op.op, k) in _SHAPE_ARGUMENTS:
                continue
            if op.op == "where" and k == 0 and id(x) not in self.comparison_of:
                name = self.where_mask(op, twin)
                if name is not None:
                    g.array_names[id(x)] = name
                    continue
            self.constant(x, x_twin, where, f"its input {k}")

    def check_params(self, op: RecordedOp, twin: RecordedOp, where: str) -> None:
        """Refuse a keyword parameter that is not what it is in the twin run."""
        for key, value in op.params.items():
            if (op.op, key) not in _SHAPE_PARAMS and not same(value, twin.params.get(key)):
                self.refuse(where, f"its parameter {key!r}", value, twin.params.get(key))

    # -- modules written as one node -----------------------------------------------------------
    def try_pattern(self, i: int, need: set[int]) -> int | None:
        """Write a module starting at op ``i`` as one node; returns where to go on, or None."""
        for call in self.starting.get(i, ()):
            x, y = call.input, call.output
            if not isinstance(x, Tensor) or not isinstance(y, Tensor) or not self.g.has(x):
                continue
            producer = self.rec.producer(y)
            if producer is None or producer.index not in need or \
                    not call.start <= producer.index < call.end:
                continue
            if self.leaks(call, y, need):
                continue
            self.g.where = f"module '{call.path}' ({type(call.module).__name__})"
            name = pattern_for(call.module)(self.g, call.module, call.path, x,
                                            self.rec.ops[call.start:call.end])
            if name is None:
                continue
            self.g.bind(y, name, self.batch_first(y, self.twin.ops[producer.index].output))
            return call.end
        return None

    def leaks(self, call: ModuleCall, y: Tensor, need: set[int]) -> bool:
        """True if a needed op outside the module's range reads one of its values other than
        its output (then the module cannot be one node)."""
        for r in self.rec.ops[call.start:call.end]:
            if r.output is y:
                continue
            if any(c in need and not call.start <= c < call.end
                   for c in self.consumers.get(id(r.output), ())):
                return True
        return False

    # -- the walk ------------------------------------------------------------------------------
    def run(self, outputs: Sequence[Tensor]) -> None:
        g, ops = self.g, self.rec.ops
        need = self.needed(outputs)
        i = 0
        while i < len(ops):
            if i in need or i in self.starting:
                nxt = self.try_pattern(i, need)
                if nxt is not None:
                    i = nxt
                    continue
            op = ops[i]
            i += 1
            if op.index not in need:
                continue
            where = f"op '{op.op}' (in {_where(self.path[op.index])})"
            emitter = EMITTERS.get(op.op)
            if emitter is None:
                raise ExportError(f"onnx.export: cannot export {where}; supported ops: "
                                  f"{', '.join(sorted(EMITTERS))}")
            twin = self.twin.ops[op.index]
            g.where = where
            self.bind_arguments(op, twin, where)
            g.where, g.twin = where, twin
            name = emitter(g, op)          # its own refusals first: they say more
            g.twin = None
            self.check_params(op, twin, where)
            g.bind(op.output, name, self.batch_first(op.output, twin.output))

    def bind_outputs(self, outputs: Sequence[Tensor]) -> None:
        """Outputs that are recorded comparisons get their ONNX ops too."""
        for y in outputs:
            comp = self.comparison_of.get(id(y))
            if comp is not None and not self.g.has(y):
                self.g.bind(y, self.constant(y, None, "the model's output", "the output"))
