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


def _placed(value, device):
    """A keyword argument as a user on ``device`` would pass it: index/mask arrays (and tensors)
    on that device, as PyTorch requires for index tensors; everything else as it is."""
    if isinstance(value, cr.Tensor):
        return value.to(device)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
        return cr.tensor(value, device=device)
    if isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
        return tuple(_placed(v, device) for v in value)
    return value


def _run(op, arrays, kwargs, device, order: int):
    """Outputs, first gradients and (order 2) second gradients of ⟨w, op(x)⟩ on ``device``."""
    kwargs = {k: _placed(v, device) for k, v in kwargs.items()}
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


# -- results that are not differentiable (comparisons, rounding divisions, logical reductions,
# orders, index builders): the op table has no rows for them; each on CUDA against the CPU ----
def _grid(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, (4, 5)).astype(np.float32)     # integers: ties and exact equality
    a[1, 2] = np.nan
    return a


NON_DIFFERENTIABLE = {
    "eq": lambda a, b: cr.eq(a, b), "ne": lambda a, b: cr.ne(a, b),
    "lt": lambda a, b: cr.lt(a, b), "le": lambda a, b: cr.le(a, b),
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "eq_scalar": lambda a, b: a == 1.0, "lt_scalar": lambda a, b: cr.lt(a, 0.5),
    "div_floor": lambda a, b: cr.div(a, b + 10.0, rounding_mode="floor"),
    "div_trunc": lambda a, b: cr.div(a, b + 10.0, rounding_mode="trunc"),
    "all": lambda a, b: cr.all(a > -2, dim=1), "any": lambda a, b: cr.any(a > 2),
    "sort_descending": lambda a, b: cr.sort(a, dim=1, descending=True),
    "sort": lambda a, b: cr.sort(b, dim=0),
    "argsort": lambda a, b: cr.argsort(a, dim=1, descending=True),
    "topk": lambda a, b: cr.topk(b, 2, dim=1),
    "topk_nan": lambda a, b: cr.topk(a, 3, dim=1),
    "tril": lambda a, b: cr.tril(b, -1), "triu": lambda a, b: cr.triu(b, 1),
    "one_hot": lambda a, b: cr.nn.functional.one_hot((b + 3).long(), 7),
    "unique": lambda a, b: cr.unique(b, return_inverse=True, return_counts=True),
    "avg_pool_no_pad_count": lambda a, b: cr.nn.functional.avg_pool1d(
        b[None], 3, 2, padding=1, count_include_pad=False),
}


@pytest.mark.parametrize("name", list(NON_DIFFERENTIABLE))
def test_non_differentiable_result_on_cuda_matches_numpy(name):
    fn = NON_DIFFERENTIABLE[name]
    a, b = _grid(0), np.nan_to_num(_grid(1), nan=0.5)
    ref = _as_list(fn(cr.tensor(a), cr.tensor(b)))
    got = _as_list(fn(cr.tensor(a, device="cuda"), cr.tensor(b, device="cuda")))
    assert len(got) == len(ref), name
    for x, y in zip(got, ref):
        assert on_gpu(x), f"{name}: the result left the GPU"
        assert x.dtype == y.dtype, f"{name}: dtype {x.dtype} vs {y.dtype}"
        assert x.shape == y.shape, f"{name}: shape {x.shape} vs {y.shape}"
        np.testing.assert_array_equal(x.cpu().numpy(), y.numpy(), err_msg=name)
