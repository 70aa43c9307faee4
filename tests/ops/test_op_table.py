"""Every row of the op table: gradcheck (float64), PyTorch agreement (float32 and float64,
forward and backward) on hypothesis-drawn shapes, and no graph under ``no_grad``; rows tagged
"gradgrad" also second derivatives (PyTorch's double backward and gradgradcheck). Rows live in
``rows_*.py``."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
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


DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])


@pytest.mark.parametrize("op", [r for r in ROWS if "edge" not in r.tags], ids=str)
@DTYPES
@settings(max_examples=12)
@given(data=st.data())
def test_matches_torch(op, dtype, data):
    _check_matches(op, dtype, data)


@pytest.mark.parametrize("op", [r for r in ROWS if "edge" in r.tags], ids=str)
@DTYPES
@settings(max_examples=3)
@given(data=st.data())
def test_edges_match_torch(op, dtype, data):
    """The edge rows (switch points, ties, empty and 0-d inputs): their domains put most
    elements on the edge, so a few draws each suffice."""
    _check_matches(op, dtype, data)


def _check_matches(op, dtype, data):
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


def _inputs(op, data, dtype=np.float64):
    shapes, kwargs = data.draw(op.shapes, label="shapes, kwargs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    return make_inputs(op, rng, shapes, dtype), kwargs, rng


@pytest.mark.parametrize("op", ROWS, ids=str)
@settings(max_examples=2)
@given(data=st.data())
def test_no_grad(op, data):
    """Under no_grad no op records a graph, whatever its inputs require."""
    arrays, kwargs, _ = _inputs(op, data)
    xs = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    with cr.no_grad():
        outs = _as_list(op.cr(*xs, **kwargs))
    for k, o in enumerate(outs):
        if any(o is x for x in xs):   # PyTorch's documented identities hand back the input
            continue                  # itself (flatten of nothing, .to() of the same dtype)
        assert not o.requires_grad, f"{op.name}: output {k} requires grad under no_grad"
        assert o.grad_fn is None, f"{op.name}: output {k} has grad_fn {o.grad_fn} under no_grad"


def _zeros_for_none(grads, inputs):
    return [np.zeros(tuple(x.shape)) if g is None else np.asarray(
        g.detach().numpy() if isinstance(g, torch.Tensor) else g.numpy())
        for g, x in zip(grads, inputs)]


@pytest.mark.parametrize("op", [r for r in ROWS if "gradgrad" in r.tags], ids=str)
@settings(max_examples=4)
@given(data=st.data())
def test_double_backward(op, data):
    """Second derivatives: ∂/∂x ⟨v, ∂⟨w, f(x)⟩/∂x⟩ against PyTorch's (create_graph=True in both),
    then gradgradcheck against finite differences of the first gradient."""
    arrays, kwargs, rng = _inputs(op, data)
    diff = [i for i, a in enumerate(arrays) if i not in op.nondiff and a.dtype.kind == "f"]
    xs = [cr.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out, tout = _as_list(op.cr(*xs, **kwargs))[0], _as_list(op.torch(*ts, **kwargs))[0]
    w = rng.standard_normal(out.shape)
    g1 = cr.autograd.grad((out * cr.tensor(w)).sum(), [xs[i] for i in diff], create_graph=True)
    t1 = torch.autograd.grad((tout * torch.tensor(w)).sum(), [ts[i] for i in diff],
                             create_graph=True)
    for g, t in zip(g1, t1):
        _close(g.detach().numpy(), t, np.float64, op, "first derivative")
    vs = [rng.standard_normal(g.shape) for g in g1]
    s = sum((g * cr.tensor(v)).sum() for g, v in zip(g1, vs))
    ts_ = sum((t * torch.tensor(v)).sum() for t, v in zip(t1, vs))
    g2 = cr.autograd.grad(s, [xs[i] for i in diff], allow_unused=True)
    t2 = torch.autograd.grad(ts_, [ts[i] for i in diff], allow_unused=True) \
        if ts_.requires_grad else [None] * len(diff)
    for i, (g, t) in enumerate(zip(_zeros_for_none(g2, [xs[i] for i in diff]),
                                   _zeros_for_none(t2, [ts[i] for i in diff]))):
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-10,
                                   err_msg=f"{op.name}: second derivative, input {diff[i]}")
    assert gradgradcheck(lambda *t: _as_list(op.cr(*t, **kwargs))[0], xs)


#: where PyTorch raises on an edge, chainrule raises too, with the same exception type where
#: PyTorch's is documented (IndexError for an empty reduction dim), naming the op and the shape
ERRORS = [
    (lambda: cr.amax(cr.zeros(0, 3), 0), IndexError, r"amax: .*dim 0 .*\(0, 3\)"),
    (lambda: cr.amin(cr.zeros(2, 0), 1), IndexError, r"amin: .*dim 1 .*\(2, 0\)"),
    (lambda: cr.max(cr.zeros(0, 3), 0), IndexError, r"max: .*dim 0 .*\(0, 3\)"),
    (lambda: cr.min(cr.zeros(0, 3), dim=0), IndexError, r"min: .*dim 0 .*\(0, 3\)"),
    (lambda: cr.argmax(cr.zeros(0, 3), 0), IndexError, r"argmax: .*dim 0"),
    (lambda: cr.max(cr.zeros(0)), RuntimeError, r"amax: the tensor of shape \(0,\) is empty"),
    (lambda: cr.nn.functional.pad(cr.ones(2, 4), (-5, 1)), ValueError,
     r"pad: negative padding \(-5, 1\) removes more than the size 4"),
    (lambda: cr.nn.functional.pad(cr.ones(2, 4), (-3, -2)), ValueError, r"removes more"),
    (lambda: cr.take_along_dim(cr.ones(2, 3), cr.tensor([[-4]]), 1), IndexError,
     r"take_along_dim: index -4 is out of bounds for dimension 1 with size 3"),
    (lambda: cr.take_along_dim(cr.ones(2, 3), cr.tensor([-1])), IndexError,
     r"take_along_dim: index -1 is out of bounds"),            # the flat form does not wrap
    (lambda: cr.einsum("ii->i", cr.ones(2, 3)), ValueError, r"einsum: subscript 'i'"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_edge_errors(k):
    fn, exc, pattern = ERRORS[k]
    with pytest.raises(exc, match=pattern):
        fn()
