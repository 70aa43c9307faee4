"""When leaf hooks run: as soon as the leaf's gradient is final (PyTorch's timing), and the
end-of-backward callbacks queued with ``queue_callback``. PyTorch is the oracle for the order."""
import numpy as np
import pytest
import torch

import chainrule as cr


def _queue(lib, fn):
    if lib is torch:
        torch.autograd.Variable._execution_engine.queue_callback(fn)
    else:
        cr.autograd.queue_callback(fn)


def _events(lib):
    """w1 → x1 → (w2) → x2 → (w3, and w1 again) → loss; log hooks and a final callback."""
    events = []
    inp = lib.tensor(np.array([1.0, 2.0, 3.0]))
    w1 = lib.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w2 = lib.tensor(np.array([1.5, 0.5, -0.5]), requires_grad=True)
    w3 = lib.tensor(np.array([2.0, 1.0, 1.0]), requires_grad=True)
    queued = []

    def post(name):
        def hook(t):
            events.append((name, np.asarray(t.grad.detach()).round(12).tolist()))
            if not queued:
                queued.append(1)
                _queue(lib, lambda: events.append(("final", None)))
        return hook
    for name, w in (("w1", w1), ("w2", w2), ("w3", w3)):
        w.register_post_accumulate_grad_hook(post(name))
    x1 = w1 * inp
    x1.register_hook(lambda g: events.append(("x1", None)))
    x2 = (x1 * w2).tanh()
    x2.register_hook(lambda g: events.append(("x2", None)))
    loss = (x2 * w3).sum() + (w1 * x2).sum()
    loss.backward()
    return events


def test_post_accumulate_hooks_fire_as_each_leaf_is_final_in_torchs_order():
    ours, theirs = _events(cr), _events(torch)
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    assert [e[0] for e in ours][:2] == ["w3", "x2"]   # w3's hook runs before backward ends
    for (_, a), (_, b) in zip(ours, theirs):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_leaf_used_at_two_depths_fires_once_after_its_last_contribution():
    events = [e[0] for e in _events(cr)]
    assert events.count("w1") == 1
    assert events.index("w1") > events.index("x1")    # w1's first use is the deepest


def test_removed_hooks_stop_and_leave_the_count_at_zero():
    from chainrule.autograd.hooks import leaf_hook_count
    before = leaf_hook_count[0]
    w = cr.ones(2, requires_grad=True)
    calls = []
    h1 = w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    h2 = w.register_hook(lambda g: None)
    assert leaf_hook_count[0] == before + 2
    (w * 2).sum().backward()
    h1.remove(), h2.remove(), h1.remove()
    assert leaf_hook_count[0] == before
    (w * 2).sum().backward()
    assert calls == [1]


def test_callbacks_run_after_the_walk_and_may_queue_more():
    order = []
    w = cr.ones(2, requires_grad=True)
    w.register_post_accumulate_grad_hook(
        lambda t: cr.autograd.queue_callback(
            lambda: (order.append(np.asarray(w.grad).tolist()),
                     cr.autograd.queue_callback(lambda: order.append("second")))))
    (w * 3).sum().backward()
    assert order == [[3.0, 3.0], "second"]
    (w * 1).sum().backward()         # a new backward gets a fresh list: runs once more each
    assert order == [[3.0, 3.0], "second", [4.0, 4.0], "second"]


def test_queue_callback_outside_backward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="only be queued while a backward"):
        cr.autograd.queue_callback(lambda: None)
