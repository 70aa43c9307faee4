"""The engine: accumulation, freeing, retain/create_graph, hooks, version counter, grad modes."""
from __future__ import annotations

import gc
import resource

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import grad as cr_grad


def test_gradients_accumulate_into_leaves_until_zeroed():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_no_gradient_for_inputs_that_do_not_require_one():
    x = cr.randn(3, 4)
    w = cr.randn(4, 2, requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_shared_gradient_arrays_are_not_aliased_between_leaves():
    # Add hands the same incoming gradient to both inputs; the leaves must not share it.
    a = cr.zeros(3, requires_grad=True)
    b = cr.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(10)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_leaf_reached_on_several_paths_sums_gradients_without_corrupting_others():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    h = a + a.tanh()          # a reaches h twice
    z = h + h * 2             # h reaches z twice
    z.sum().backward()
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    th = ta + ta.tanh()
    (th + th * 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)


def test_node_runs_only_after_every_consumer_created_later_on_another_path():
    """A node whose consumers sit on paths of very different lengths (and were created in an
    order unlike their depth) gets the gradient of all of them before it runs, once each."""
    a = cr.tensor([0.3, -0.7], requires_grad=True)
    h = a.tanh()
    long = h
    for _ in range(50):            # a long path from h, created first
        long = long * 1.01
    short = h * 3                  # a short path from h, created last
    z = (long + short + h).sum()
    z.backward()
    ta = torch.tensor([0.3, -0.7], requires_grad=True)
    th = ta.tanh()
    tl = th
    for _ in range(50):
        tl = tl * 1.01
    (tl + th * 3 + th).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)


def test_a_node_feeding_both_inputs_of_the_next_gets_both_gradients():
    x = cr.tensor([0.4, -1.2, 2.0], requires_grad=True)
    h = x.tanh()
    (h * h).sum().backward()       # h's node is queued by the first input, then gets the second
    tx = torch.tensor([0.4, -1.2, 2.0], requires_grad=True)
    th = tx.tanh()
    (th * th).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_backward_from_several_roots_where_one_root_feeds_another():
    x = cr.tensor([1.5, -0.5], requires_grad=True)
    y = x * x                      # root 1
    z = (y.tanh() * 2).sum()       # root 2, computed from root 1
    cr.autograd.backward([z, y], [None, cr.tensor([1.0, 10.0])])
    tx = torch.tensor([1.5, -0.5], requires_grad=True)
    ty = tx * tx
    tz = (ty.tanh() * 2).sum()
    torch.autograd.backward([tz, ty], [None, torch.tensor([1.0, 10.0])])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_second_backward_through_freed_graph_raises():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_backward_on_non_scalar_needs_gradient():
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(cr.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_backward_without_graph_raises_clearly():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.ones(2).sum().backward()


def test_no_grad_and_enable_grad():
    x = cr.ones(2, requires_grad=True)
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    assert cr.is_grad_enabled()


def test_register_hook_sees_and_can_replace_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[30.0, 30.0]]
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_retain_grad_on_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [4.0, 8.0])


def test_in_place_change_of_a_saved_tensor_is_caught_at_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    y = x * w            # Mul saves w
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_in_place_change_of_an_unsaved_input_is_fine():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    y = x + w            # Add saves nothing
    w.add_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_in_place_on_leaf_requiring_grad_needs_no_grad():
    p = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        p.add_(1)
    with cr.no_grad():
        p.add_(1)
        p[0] = 5.0
    np.testing.assert_array_equal(p.numpy(), [5.0, 2.0])


def test_augmented_assignment_on_graph_tensor_rebinds():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss += x.sum()          # out of place, as PyTorch users expect to work
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 5.0])


def test_augmented_assignment_with_graph_on_the_right_keeps_the_graph():
    b = cr.tensor([1.0, 2.0], requires_grad=True)
    a = cr.zeros(2)
    a -= b * 2
    assert a.requires_grad
    a.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [-2.0, -2.0])
    c = cr.zeros(2)
    with cr.no_grad():
        c += b              # no graph recorded: in place
    assert not c.requires_grad and c.tolist() == [1.0, 2.0]


def test_chain_of_100000_ops_has_no_recursion_error():
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0)


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_memory_stays_flat_over_2000_training_iterations():
    cr.manual_seed(0)
    w1 = cr.randn(64, 128, requires_grad=True)
    w2 = cr.randn(128, 128, requires_grad=True)
    w3 = cr.randn(128, 10, requires_grad=True)
    x = cr.randn(32, 64)

    def step():
        loss = ((x @ w1).tanh() @ w2).relu() @ w3
        loss = (loss * loss).mean()
        loss.backward()
        with cr.no_grad():
            for w in (w1, w2, w3):
                w.sub_(w.grad * 1e-4)
                w.grad = None

    for _ in range(200):
        step()
    gc.collect()
    before = _rss_mib()
    for _ in range(2000):
        step()
    gc.collect()
    after = _rss_mib()
    assert after - before < 20, f"RSS grew by {after - before:.1f} MiB over 2000 iterations"


# -- higher order ---------------------------------------------------------------------------------
COMPOSITIONS = [
    ("poly", lambda x, y: (x ** 3 * y + y.exp() * x).sum()),
    ("tanh_mm", lambda x, y: ((x @ y.T).tanh() ** 2).mean()),
    ("sigmoid_log", lambda x, y: (x.sigmoid() * (y * y + 1).log()).sum()),
    ("log1p_exp_div", lambda x, y: ((x.exp() + 1).log() / (y.abs() + 1)).sum()),
    ("sin_cos_sqrt", lambda x, y: ((x.sin() * y.cos()) + (x * x + 1).sqrt()).sum()),
    ("reduce_max_lse", lambda x, y: (x * y).logsumexp(dim=1).sum() + (x - y).amax(dim=0).sum()),
    ("var_where", lambda x, y: x.var(dim=1).sum() + cr.where(x.numpy() > 0, x * y, y).sum()
     if isinstance(x, cr.Tensor) else x.var(dim=1).sum() + torch.where(x > 0, x * y, y).sum()),
]


@pytest.mark.parametrize("name,f", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_gradient_of_gradient_matches_torch(name, f):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    gx, gy = cr_grad(f(x, y), (x, y), create_graph=True)
    tgx, tgy = torch.autograd.grad(f(tx, ty), (tx, ty), create_graph=True)
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
    s = (gx * gx).sum() + (gx * gy).sum()
    ts = (tgx * tgx).sum() + (tgx * tgy).sum()
    hx, hy = cr_grad(s, (x, y))
    thx, thy = torch.autograd.grad(ts, (tx, ty))
    np.testing.assert_allclose(hx.numpy(), thx.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(hy.numpy(), thy.numpy(), rtol=1e-9, atol=1e-11)


def test_backward_create_graph_makes_grad_differentiable():
    x = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = x ** 4
    y.backward(create_graph=True)
    g = x.grad                 # 4x³ = 108, as a graph
    assert g.requires_grad and g.item() == 108.0
    x.grad = None
    g.backward()
    assert x.grad.item() == 12 * 9.0  # 12x²


def test_grad_with_the_same_input_twice():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    g1, g2 = cr_grad((x * x).sum(), [x, x])
    assert g1.tolist() == g2.tolist() == [2.0, 4.0]


def test_grad_reports_unused_inputs():
    x = cr.ones(2, requires_grad=True)
    z = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        cr_grad((x * 2).sum(), (x, z))
    gx, gz = cr_grad((x * 2).sum(), (x, z), allow_unused=True)
    assert gz is None and gx.tolist() == [2.0, 2.0]
