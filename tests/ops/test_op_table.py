"""Every row of the op table, three ways: gradcheck (float64), PyTorch agreement (float32 and
float64, forward and backward) on hypothesis-drawn shapes. Rows live in ``rows_*.py``."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck
from tests.optable import make_inputs

ROWS = []
for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if info.name.startswith("rows_"):
        ROWS.extend(importlib.import_module(f"tests.ops.{info.name}").ROWS)

def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run_pair(op, arrays, kwargs, dtype):
    """Run chainrule and PyTorch on the same inputs; return outputs and input gradients."""
    diff = [i for i, a in enumerate(arrays)
            if op.grad and i not in op.nondiff and a.dtype.kind == "f"]
    xs = [cr.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    outs = _as_list(op.cr(*xs, **kwargs))
    touts = _as_list(op.torch(*ts, **kwargs))
    assert len(outs) == len(touts), f"{op.name}: {len(outs)} outputs vs torch's {len(touts)}"
    grads = tgrads = None
    live = [(o, t) for o, t in zip(outs, touts) if o.requires_grad]
    if diff and live:
        rng = np.random.default_rng(1)
        ws = [rng.standard_normal(o.shape).astype(o.dtype) for o, _ in live]
        loss = sum((o * cr.tensor(w)).sum() for (o, _), w in zip(live, ws))
        loss.backward()
        tloss = sum((t * torch.tensor(w)).sum() for (_, t), w in zip(live, ws))
        tloss.backward()
        grads = [xs[i].grad for i in diff]
        tgrads = [ts[i].grad for i in diff]
    return outs, touts, grads, tgrads


def _close(a, b, dtype, op, what):
    a = np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, f"{op.name} {what}: shape {a.shape} vs torch {b.shape}"
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=f"{op.name} {what}")
        return
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (op.rtol32, op.atol32)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{op.name} {what}")


@pytest.mark.parametrize("op", ROWS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@settings(max_examples=12)
@given(data=st.data())
def test_matches_torch(op, dtype, data):
    shapes, kwargs = data.draw(op.shapes, label="shapes, kwargs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    arrays = make_inputs(op, rng, shapes, dtype)
    outs, touts, grads, tgrads = _run_pair(op, arrays, kwargs, dtype)
    for o, t in zip(outs, touts):
        assert o.dtype == np.dtype(str(t.dtype).replace("torch.", "")), \
            f"{op.name}: dtype {o.dtype} vs torch {t.dtype}"
        _close(o.numpy(), t, dtype, op, "forward")
    if grads is not None:
        for g, tg in zip(grads, tgrads):
            assert (g is None) == (tg is None)
            if g is not None:
                assert g.dtype == dtype, f"{op.name}: gradient dtype {g.dtype}, expected {dtype}"
                _close(g.numpy(), tg, dtype, op, "gradient")


@pytest.mark.parametrize("op", [r for r in ROWS if r.grad and r.gradcheck], ids=str)
@settings(max_examples=4)
@given(data=st.data())
def test_gradcheck(op, data):
    shapes, kwargs = data.draw(op.shapes, label="shapes, kwargs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    arrays = make_inputs(op, rng, shapes, np.float64)
    xs = [cr.tensor(a, requires_grad=(i not in op.nondiff and a.dtype.kind == "f"))
          for i, a in enumerate(arrays)]
    if not any(x.requires_grad for x in xs):
        return
    assert gradcheck(lambda *t: op.cr(*t, **kwargs), xs)
