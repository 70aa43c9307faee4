"""cr.autograd.record(): every op logged with its inputs, parameters and output; δ's stored."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import record, is_recording


def _mlp_pieces(seed=0):
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((4, 3)))
    w1 = cr.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    return x, w1, w2


def test_notes_example_values_and_deltas():
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.tensor(4.0, requires_grad=True)
    with record() as rec:
        f = x ** 2 * y + y + 2
        f.backward()
    assert f.item() == 42.0
    assert float(rec.delta(x)) == 24.0 and float(rec.delta(y)) == 10.0
    assert [r.op for r in rec.ops] == ["powscalar", "mul", "add", "add"]
    assert rec.producer(f) is rec.ops[-1]
    assert float(rec.delta(f)) == 1.0
    assert rec.producer(x) is None            # a leaf


def test_every_nonleaf_delta_equals_retain_grad():
    x, w1, w2 = _mlp_pieces()
    with record() as rec:
        h = (x @ w1).tanh()
        out = h @ w2
        loss = (out * out).sum()
        for t in (h, out):
            t.retain_grad()
        loss.backward()
    np.testing.assert_array_equal(rec.delta(h), h.grad._data)
    np.testing.assert_array_equal(rec.delta(out), out.grad._data)
    np.testing.assert_array_equal(rec.delta(w1), w1.grad._data)
    np.testing.assert_array_equal(rec.delta(w2), w2.grad._data)
    # every op's output is kept alive with its value, inputs and parameters
    assert all(r.output is not None and r.inputs for r in rec.ops)
    assert rec.delta(x) is None               # x does not require grad: no δ reaches it


def test_ops_without_grad_and_params_are_logged():
    x = cr.arange(6.0).reshape(2, 3)          # nothing requires grad
    with record() as rec:
        s = x.sum(dim=1, keepdim=True)
        cr.nn.functional.softmax(x, dim=-1)
    assert len(rec) >= 2
    summed = rec.producer(s)
    assert summed is not None and summed.inputs[0] is x
    assert any(v == (1,) or v == 1 for v in summed.params.values()), summed.params


def test_multipath_leaf_delta_is_the_sum():
    a = cr.tensor(2.0, requires_grad=True)
    with record() as rec:
        y = a * a + a.sin()
        y.backward()
    assert float(rec.delta(a)) == pytest.approx(2 * 2.0 + np.cos(2.0))


def test_latest_backward_replaces_deltas_and_grad_records_too():
    a = cr.tensor(1.5, requires_grad=True)
    with record() as rec:
        y = a * 3.0
        y.backward(retain_graph=True)
        (g,) = cr.autograd.grad(y * 2.0, [a])
    assert rec.backward_count == 2
    assert float(rec.delta(a)) == 6.0 == float(g._data)
    assert float(a.grad._data) == 3.0        # grad() does not accumulate


def test_backward_ops_are_not_logged_and_recording_ends():
    a = cr.tensor(0.7, requires_grad=True)
    with record() as rec:
        y = a.tanh()
        n = len(rec)
        (g,) = cr.autograd.grad(y, [a], create_graph=True)
        assert len(rec) == n                 # create_graph built ops, none logged
        assert is_recording()
    assert not is_recording()
    z = a * 2.0
    assert rec.producer(z) is None and len(rec) == n


def test_nested_recordings_restore_the_outer_one_which_sees_everything():
    a = cr.tensor(1.0, requires_grad=True)
    with record() as outer:
        b = a * 2.0
        with record() as inner:
            c = b + 1.0
            with pytest.raises(RuntimeError, match="already active"):
                inner.__enter__()
        d = c * c
        d.backward()
    assert outer.producer(b) and outer.producer(d) and outer.producer(c)
    assert inner.producer(c) and len(inner) == 1 and len(outer) == 3
    assert float(outer.delta(a)) == 2 * 3.0 * 2.0 and inner.delta(a) is None


def test_values_survive_a_backward_that_frees_the_graph():
    x, w1, _ = _mlp_pieces(1)
    with record() as rec:
        h = (x @ w1).relu()
        h.sum().backward()
    assert h.grad_fn.inputs is None           # the engine freed it as usual
    mm = rec.ops[0]
    assert mm.op == "matmul" and mm.inputs[1] is w1
    np.testing.assert_array_equal(mm.output._data, x._data @ w1._data)
