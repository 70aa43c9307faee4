"""Hooks on leaf tensors: once per backward on the summed gradient, and post-accumulate hooks.

PyTorch is the oracle: each case runs the same program on both libraries.
"""
import numpy as np
import pytest
import torch

import chainrule as cr


def _two_paths(lib, hook):
    """w feeds the loss along two paths (∂/∂w = 3 + 2 = 5 per element)."""
    w = lib.ones(2, requires_grad=True)
    seen = []

    def record(g):
        seen.append(np.asarray(g).copy())
        return hook(g)
    w.register_hook(record)
    (w * 3 + w * 2).sum().backward()
    return seen, np.asarray(w.grad).copy()


def test_a_leaf_hook_runs_once_on_the_total_gradient():
    seen, grad = _two_paths(cr, lambda g: None)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])
    np.testing.assert_array_equal(grad, [5.0, 5.0])
    t_seen, _ = _two_paths(torch, lambda g: None)
    np.testing.assert_array_equal(seen, t_seen)


@pytest.mark.parametrize("hook", [
    lambda g: g.clamp(max=4.0),        # non-linear: per-path application would give 3 + 2 = 5
    lambda g: g * g,
    lambda g: g * 2,
], ids=["clamp", "square", "double"])
def test_a_returned_gradient_replaces_the_total(hook):
    _, grad = _two_paths(cr, hook)
    _, t_grad = _two_paths(torch, hook)
    np.testing.assert_array_equal(grad, t_grad)


def test_a_hook_on_a_leaf_used_once_replaces_its_gradient():
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w.register_hook(lambda g: g * 10)
        (w * w).sum().backward()
        return np.asarray(w.grad).copy()
    np.testing.assert_array_equal(run(cr), [20.0, 40.0, 60.0])
    np.testing.assert_array_equal(run(cr), run(torch))


def test_hooks_chain_in_registration_order_and_can_be_removed():
    def run(lib):
        w = lib.ones(2, requires_grad=True)
        w.register_hook(lambda g: g + 1)
        h = w.register_hook(lambda g: g * 10)
        (w * 2).sum().backward()
        first = np.asarray(w.grad).copy()
        h.remove()
        w.grad = None
        (w * 2).sum().backward()
        return first, np.asarray(w.grad).copy()
    (a, b), (ta, tb) = run(cr), run(torch)
    np.testing.assert_array_equal(a, ta)     # (2 + 1) * 10
    np.testing.assert_array_equal(b, tb)     # 2 + 1


def test_leaf_hook_applies_to_autograd_grad_too():
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        w.register_hook(lambda g: g * 3)
        (g,) = (torch.autograd.grad if lib is torch else cr.autograd.grad)((w * w + w).sum(), w)
        return np.asarray(g).copy()
    np.testing.assert_array_equal(run(cr), run(torch))


def test_leaf_hook_under_create_graph_keeps_the_graph():
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        w.register_hook(lambda g: g * 2)
        (g,) = (torch.autograd.grad if lib is torch else cr.autograd.grad)(
            (w ** 3).sum(), w, create_graph=True)
        (h,) = (torch.autograd.grad if lib is torch else cr.autograd.grad)(g.sum(), w)
        return np.asarray(g.detach()).copy(), np.asarray(h).copy()
    (g, h), (tg, th) = run(cr), run(torch)
    np.testing.assert_allclose(g, tg)
    np.testing.assert_allclose(h, th)


class TestPostAccumulateGradHook:
    def _run(self, lib):
        w = lib.ones(2, requires_grad=True)
        calls = []
        w.register_post_accumulate_grad_hook(lambda t: calls.append(np.asarray(t.grad).copy()))
        (w * 3 + w * 2).sum().backward()          # two paths: one call, on the total
        (w * 1).sum().backward()                  # accumulates: the hook sees 5 + 1
        (torch.autograd.grad if lib is torch else cr.autograd.grad)((w * 7).sum(), w)
        return calls

    def test_runs_once_per_backward_after_accumulation(self):
        calls = self._run(cr)
        assert len(calls) == 2                    # autograd.grad accumulates nothing: no call
        np.testing.assert_array_equal(calls[0], [5.0, 5.0])
        np.testing.assert_array_equal(calls[1], [6.0, 6.0])
        np.testing.assert_array_equal(calls, self._run(torch))

    def test_sees_the_gradient_after_pre_hooks(self):
        def run(lib):
            w = lib.ones(2, requires_grad=True)
            out = []
            w.register_hook(lambda g: g * 4)
            w.register_post_accumulate_grad_hook(lambda t: out.append(np.asarray(t.grad).copy()))
            (w * 2).sum().backward()
            return out
        np.testing.assert_array_equal(run(cr), run(torch))

    def test_can_modify_grad_in_place_and_be_removed(self):
        w = cr.ones(2, requires_grad=True)
        h = w.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(0.5))
        (w * 4).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])
        h.remove()
        (w * 4).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])

    def test_only_on_leaves_that_require_grad(self):
        w = cr.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="only leaf tensors.*mul"):
            (w * 2).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError, match="does not require grad"):
            cr.ones(2).register_post_accumulate_grad_hook(lambda t: None)

    def test_on_a_root_leaf(self):
        w = cr.ones(3, requires_grad=True)
        calls = []
        w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
        w.backward(cr.ones(3))
        assert calls == [1]
        np.testing.assert_array_equal(w.grad.numpy(), np.ones(3))
