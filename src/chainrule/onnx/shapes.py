"""Shape targets (Reshape, Expand) that keep the batch free, read from two runs.

The exporter pairs each op with the same op of a second forward at another batch size (see
:mod:`.twin`). An output axis whose size is the same in both runs is fixed; one whose size
differs follows the batch, and is written so ONNX works it out at run time:

* Reshape: 0 ("copy the input's size", when the input's axis at that position follows the
  batch the same way), else −1 ("whatever is left"); ONNX allows one −1, so a reshape with two
  such axes is refused. ``(B, 5, 4) → (5B, 4)`` is written ``[-1, 4]``,
  ``(5, B, 4) → (5, 4B)`` ``[5, -1]``, ``(B, 12) → (B, 3, 4)`` ``[0, 3, 4]``.
* Expand: 1 where x already has that size, else the run-time batch size.

Each target is then checked: ONNX's rule applied to both runs' input shapes must give both
runs' output shapes.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .graph import ExportError, GraphBuilder

__all__ = ["reshape_target", "expand_target", "onnx_reshape"]


def onnx_reshape(shape: Sequence[int], target: Sequence[int]) -> tuple[int, ...] | None:
    """The shape ONNX's Reshape (allowzero=0) gives ``shape`` for ``target``, or None if it
    fails: 0 copies the input's size at that position, one −1 takes what is left."""
    out = []
    for j, t in enumerate(target):
        if t == 0:
            if j >= len(shape):
                return None
            out.append(int(shape[j]))
        else:
            out.append(int(t))
    total = math.prod(int(s) for s in shape)
    if out.count(-1) > 1:
        return None
    if -1 in out:
        rest = math.prod(s for s in out if s != -1)
        if rest == 0 or total % rest:
            return None
        out[out.index(-1)] = total // rest
    return tuple(out) if math.prod(out) == total else None


def _twin_shapes(twin: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(int(s) for s in np.shape(twin.inputs[0])), \
        tuple(int(s) for s in twin.output.shape)


def reshape_target(g: GraphBuilder, shape: Sequence[int], out: Sequence[int],
                   twin: Any) -> str:
    """The int64 target of a Reshape from ``shape`` to ``out`` (see the module docstring)."""
    shape, out = tuple(int(s) for s in shape), tuple(int(s) for s in out)
    if 0 in out:
        raise ExportError(f"onnx.export: cannot export {g.where}: reshape of {shape} to {out} "
                          "makes an empty axis, which ONNX's Reshape reads as 'copy'")
    if g.batch_size is None or twin is None:
        return g.ints(out)
    shape2, out2 = _twin_shapes(twin)
    at = (f"reshape of {shape} to {out} (and of {shape2} to {out2} at batch size "
          f"{g.twin_batch_size})")
    if len(out2) != len(out):
        raise ExportError(f"onnx.export: cannot export {g.where}: {at} gives a number of axes "
                          "that depends on the batch size; cannot export with "
                          "dynamic_batch=True; pass dynamic_batch=False")
    target, free = [], []
    for j, (a, b) in enumerate(zip(out, out2)):
        if a == b:
            target.append(a)
        elif j < len(shape) and j < len(shape2) and shape[j] == a and shape2[j] == b:
            target.append(0)
        else:
            target.append(-1)
            free.append(j)
    if len(free) > 1:
        raise ExportError(f"onnx.export: cannot export {g.where}: {at} has {len(free)} axes "
                          f"(axes {free}) whose sizes follow the batch, and an ONNX Reshape can "
                          "infer only one (−1): cannot export with dynamic_batch=True; pass "
                          "dynamic_batch=False")
    if onnx_reshape(shape, target) != out or onnx_reshape(shape2, target) != out2:
        raise ExportError(f"onnx.export: cannot export {g.where}: {at} has no ONNX target "
                          f"that works at both batch sizes (tried {target}): cannot export "
                          "with dynamic_batch=True; pass dynamic_batch=False")
    return g.ints(target)


def expand_target(g: GraphBuilder, shape: Sequence[int], out: Sequence[int],
                  twin: Any) -> str:
    """The int64 shape of an Expand of ``shape`` to ``out`` (see the module docstring)."""
    shape, out = tuple(int(s) for s in shape), tuple(int(s) for s in out)
    if g.batch_size is None or twin is None:
        return g.ints(out)
    shape2, out2 = _twin_shapes(twin)
    lead = len(out) - len(shape)
    if len(out2) != len(out) or len(out2) - len(shape2) != lead:
        raise ExportError(f"onnx.export: cannot export {g.where}: broadcast of {shape} to {out} "
                          f"(and of {shape2} to {out2} at batch size {g.twin_batch_size}) "
                          "changes its number of axes with the batch size; pass "
                          "dynamic_batch=False")
    pieces: list[Any] = []
    for j, (a, b) in enumerate(zip(out, out2)):
        k = j - lead
        if a == b:
            pieces.append(a)
        elif k >= 0 and shape[k] == a and shape2[k] == b:
            pieces.append(1)
        elif a == g.batch_size and b == g.twin_batch_size:
            pieces.append(None)                         # the run-time batch size
        else:
            raise ExportError(f"onnx.export: cannot export {g.where}: broadcast of {shape} to "
                              f"{out} (and of {shape2} to {out2} at batch size "
                              f"{g.twin_batch_size}): axis {j} follows the batch in a way ONNX "
                              "cannot be told; pass dynamic_batch=False")
    if None not in pieces:
        return g.ints(pieces)
    parts, run = [], []
    for p in pieces + ["end"]:
        if isinstance(p, int):
            run.append(p)
            continue
        if run:
            parts.append(g.ints(run))
            run = []
        if p is None:
            parts.append(g.batch_dim())
    return parts[0] if len(parts) == 1 else g.node("Concat", parts, "shape", axis=0)
