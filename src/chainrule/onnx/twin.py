"""The second forward: what in the recorded graph depends on the input's values or batch size.

One forward fixes every number the model computed outside the recorded ops: a mask from
``x > 0`` (unless the comparison was logged, see ``Recording.comparisons``), a value read with
``.item()``, a constant as long as the batch, a reshape target built from ``x.shape``. Written
into ONNX as they are, those numbers make a graph that is wrong at other inputs without a word.

So the exporter runs the model a second time, on an input with other values and, with a dynamic
batch, another batch size (the example's + :data:`BATCH_STEP`). The two recordings must run the
same ops; then, op by op:

* a constant (an array, a number, a Tensor no op made) or a parameter that is not the same in
  both runs depends on the input, and is refused unless an emitter computes it in the graph;
* an axis whose size differs between the runs follows the batch: reshape and expand targets
  are written with 0, −1, 1 or the run-time batch size there, and refused where they cannot be.

This is sound for shapes that are affine in the batch size (every layer chainrule has), and for
values that the second input changes; a value that depends on the input but happens to be the
same on both (a mask that is all True on both) is not seen, which is why comparisons of
Tensors are recorded and exported as ONNX ops rather than relied on here.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from .graph import ExportError

__all__ = ["BATCH_STEP", "second_inputs", "check_same_program", "same", "difference",
           "describe"]

#: the second run's batch size is the example's + BATCH_STEP (3: x.shape[0] // 2 and // 3 change)
BATCH_STEP = 3


def second_inputs(inputs: Sequence[Tensor], batched: Sequence[bool], batch: int | None,
                  seed: int = 0) -> tuple[tuple[Tensor, ...], int | None]:
    """Inputs for the second run: values drawn from the example's own (scaled by U(0.5, 1.5)
    for floats, so their range and sign are kept) and, for the batched ones, batch + BATCH_STEP
    rows. Returns the inputs and their batch size (None without a dynamic batch)."""
    rng = np.random.default_rng(seed)
    batch2 = None if batch is None else batch + BATCH_STEP
    out = []
    for x, is_batched in zip(inputs, batched):
        data = x._data
        host = np.asarray(data.get() if hasattr(data, "get") and not isinstance(data, np.ndarray)
                          else data)
        shape = list(host.shape)
        if is_batched and batch2 is not None:
            shape[0] = batch2
        flat = host.reshape(-1)
        new = (rng.choice(flat, size=tuple(shape)) if flat.size else np.zeros(shape, host.dtype))
        if host.dtype.kind == "f":
            new = new * rng.uniform(0.5, 1.5, size=new.shape)
        new = np.asarray(new).astype(host.dtype, copy=False)
        xp = backend.get_array_module(data)
        out.append(Tensor._wrap(xp.asarray(new), False, None))
    return tuple(out), batch2


def check_same_program(rec_a, rec_b, what: str) -> None:
    """Refuse unless both recordings ran the same ops and comparisons, in the same order."""
    for kind, first, second in (("op", [r.op for r in rec_a.ops], [r.op for r in rec_b.ops]),
                                ("comparison", [c.name for c in rec_a.comparisons],
                                 [c.name for c in rec_b.comparisons])):
        if first == second:
            continue
        k = next((i for i, (a, b) in enumerate(zip(first, second)) if a != b),
                 min(len(first), len(second)))
        here = first[k] if k < len(first) else "(none)"
        there = second[k] if k < len(second) else "(none)"
        raise ExportError(f"onnx.export: the model ran other ops on {what} than on the example "
                          f"({kind} {k} is '{there}' there, '{here}' here; {len(second)} against "
                          f"{len(first)} {kind}s): its control flow depends on the input, and an "
                          "ONNX graph records one path (export with dynamic_batch=False if it "
                          "is the batch size that changes it)")


def _host(x: Any) -> Any:
    if isinstance(x, Tensor):
        x = x._data
    if hasattr(x, "get") and not isinstance(x, np.ndarray) and backend.is_array(x):
        x = x.get()
    return x


def same(a: Any, b: Any) -> bool:
    """True if two op arguments (arrays, Tensors, numbers, tuples, slices, dicts) are equal
    in type, shape, dtype and value (NaN equal to NaN)."""
    a, b = _host(a), _host(b)
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
            return _same_number(a, b)
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        except TypeError:
            return bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, slice) or isinstance(b, slice):
        return type(a) is type(b) and same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return _same_number(a, b)
    try:
        return bool(a == b)
    except Exception:          # an object without a usable ==: the same object or not
        return a is b


def _same_number(a, b) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b or (a != a and b != b))


def difference(a: Any, b: Any) -> str:
    """Why two unequal arguments differ, for an error message."""
    sa, sb = np.shape(_host(a)) if _arraylike(a) else None, \
        np.shape(_host(b)) if _arraylike(b) else None
    if sa is not None and sb is not None and sa != sb:
        return f"its shape follows the batch ({tuple(sa)} here, {tuple(sb)} at the other batch)"
    return "its value changes with the input (other values, or another batch size)"


def _arraylike(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray, np.generic)) or backend.is_array(x)


def describe(x: Any) -> str:
    """'a constant of shape (3, 4) and dtype bool' / 'the number 0.5'."""
    if _arraylike(x):
        h = np.asarray(_host(x))
        if h.ndim == 0:
            return f"the value {h.item()!r} ({np.dtype(h.dtype).name})"
        return f"a constant of shape {tuple(h.shape)} and dtype {np.dtype(h.dtype).name}"
    if isinstance(x, (numbers.Number, str, slice, type(None))):
        return f"the value {x!r}"
    text = repr(x)
    return f"the value {text}" if len(text) <= 60 else f"a {type(x).__name__} value"
