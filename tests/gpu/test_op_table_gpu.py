"""Every row of the op table on CUDA against the NumPy path: one hypothesis example per row and
dtype (float32, float64): forward, backward and, for rows tagged "gradgrad", double backward."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from tests.ops.test_op_table import ROWS
from tests.optable import make_inputs

from ._helpers import close, on_gpu

DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(op, arrays, kwargs, device, order: int):
    """Outputs, first gradients and (order 2) second gradients of ⟨w, op(x)⟩ on ``device``."""
    diff = [i for i, a in enumerate(arrays)
            if op.grad and i not in op.nondiff and a.dtype.kind == "f"]
    xs = [cr.tensor(a, requires_grad=i in diff, device=device) for i, a in enumerate(arrays)]
    outs = _as_list(op.cr(*xs, **kwargs))
    live = [o for o in outs if isinstance(o, cr.Tensor) and o.requires_grad]
    grads, second = None, None
    if diff and live:
        rng = np.random.default_rng(1)
        ws = [cr.tensor(rng.standard_normal(o.shape).astype(o.dtype), device=device)
              for o in live]
        loss = sum((o * w).sum() for o, w in zip(live, ws))
        grads = cr.autograd.grad(loss, [xs[i] for i in diff], create_graph=order == 2,
                                 allow_unused=True)
        if order == 2:
            used = [g for g in grads if g is not None and g.requires_grad]
            if used:
                vs = [cr.tensor(rng.standard_normal(g.shape).astype(g.dtype), device=device)
                      for g in used]
                second = cr.autograd.grad(sum((g * v).sum() for g, v in zip(used, vs)),
                                          [xs[i] for i in diff], allow_unused=True)
    return outs, grads, second


def _compare(op, dtype, data, order):
    shapes, kwargs = data.draw(op.shapes, label="shapes, kwargs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    arrays = make_inputs(op, rng, shapes, dtype)
    ref = _run(op, arrays, kwargs, "cpu", order)
    got = _run(op, arrays, kwargs, "cuda", order)
    rtol = None if dtype == np.float64 else max(op.rtol32, 2e-4)
    atol = None if dtype == np.float64 else max(op.atol32, 2e-5)
    for what, a, b in zip(("forward", "gradient", "second derivative"), got, ref):
        if b is None:
            assert a is None, f"{op.name}: {what} on CUDA but not on the CPU"
            continue
        for x, y in zip(a, b):
            if y is None or not isinstance(y, cr.Tensor):
                continue
            assert on_gpu(x), f"{op.name}: {what} left the GPU"
            assert x.dtype == y.dtype, f"{op.name} {what}: dtype {x.dtype} vs {y.dtype}"
            close(x, y, dtype, f"{op.name} {what}", rtol=rtol, atol=atol)


@pytest.mark.parametrize("op", ROWS, ids=str)
@DTYPES
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_op_on_cuda_matches_numpy(op, dtype, data):
    _compare(op, dtype, data, 2 if "gradgrad" in op.tags else 1)
