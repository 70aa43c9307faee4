"""Guards the audit (#13) asked for: a leaf hook's return value replaces the gradient, and no
float64 leaks into the gradients of float32 tensors — looked at where the leaf's cast into
``.grad`` cannot hide it (a non-leaf's retained ``.grad``, the tensors ``autograd.grad`` returns).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

X = np.array([[0.7, -1.3, 2.1], [1.6, 0.4, -0.5]], dtype=np.float32)


def test_a_leaf_hook_return_value_replaces_its_gradient_as_in_torch():
    """A leaf used once: its hook sees dL/dw and what it returns is what lands in ``w.grad``."""
    w = cr.tensor(X, requires_grad=True)
    seen = []
    w.register_hook(lambda g: (seen.append(g.numpy().copy()), g * 2)[1])
    (w.exp() * cr.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))).sum().backward()

    wt = torch.tensor(X, requires_grad=True)
    wt.register_hook(lambda g: g * 2)
    (wt.exp() * torch.arange(6.0).reshape(2, 3)).sum().backward()

    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], wt.grad.numpy() / 2, rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-6)
    assert w.grad.dtype == np.float32


def test_a_leaf_hook_that_returns_none_leaves_the_gradient_alone():
    w = cr.tensor(X, requires_grad=True)
    w.register_hook(lambda g: None)
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full_like(X, 3.0))


def test_a_leaf_hook_return_value_is_what_autograd_grad_returns():
    w = cr.tensor(X, requires_grad=True)
    w.register_hook(lambda g: g * -4)
    g, = cr.autograd.grad((w * 0.5).sum(), [w])
    np.testing.assert_allclose(g.numpy(), np.full_like(X, -2.0))


# Each row: a name and a function of one float32 tensor (2x3), mixing it with Python floats,
# float64 NumPy scalars and 0-d arrays, constants: none of those may promote the gradient.
ROWS = {
    "mul python float": lambda t: t * 2.5,
    "radd numpy float64": lambda t: np.float64(2.0) + t,
    "mul numpy float64": lambda t: t * np.float64(3.0),
    "mul 0-d float64 array": lambda t: t * np.array(1.5),
    "div python float": lambda t: t / 3.0,
    "rdiv python float": lambda t: 3.0 / (t * t + 1.0),
    "rsub": lambda t: 1.0 - t,
    "pow float": lambda t: (t * t + 1.0) ** 1.5,
    "rpow": lambda t: 2.0 ** t,
    "exp": lambda t: t.exp(),
    "log": lambda t: (t * t + 0.5).log(),
    "sqrt": lambda t: (t * t + 0.5).sqrt(),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "abs": lambda t: t.abs(),
    "clamp": lambda t: t.clamp(-0.5, 1.0),
    "where with a scalar": lambda t: cr.where(t > 0, t, 0.25),
    "maximum 0-d tensor": lambda t: cr.maximum(t, cr.tensor(np.float64(0.5))),
    "mean": lambda t: t.mean(dim=1),
    "var": lambda t: t.var(dim=0),
    "std": lambda t: t.std(),
    "norm": lambda t: t.norm(),
    "softmax": lambda t: F.softmax(t, dim=1),
    "log_softmax": lambda t: F.log_softmax(t, dim=1),
    "relu": lambda t: F.relu(t),
    "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
    "elu": lambda t: F.elu(t),
    "gelu": lambda t: F.gelu(t),
    "softplus": lambda t: F.softplus(t),
    "layer_norm": lambda t: F.layer_norm(t, (3,)),
    "mse_loss": lambda t: F.mse_loss(t, cr.zeros(2, 3)),
    "smooth_l1_loss": lambda t: F.smooth_l1_loss(t, cr.zeros(2, 3)),
    "huber_loss": lambda t: F.huber_loss(t, cr.zeros(2, 3), delta=0.5),
    "cross_entropy": lambda t: F.cross_entropy(t, cr.tensor(np.array([2, 0]))),
    "bce_with_logits": lambda t: F.binary_cross_entropy_with_logits(t, cr.ones(2, 3) * 0.3),
    "matmul": lambda t: t @ cr.tensor(np.ones((3, 2), dtype=np.float32)),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_float32_gradients_stay_float32_through_retain_grad_and_autograd_grad(name):
    f = ROWS[name]
    x = cr.tensor(X, requires_grad=True)
    h = x * 1.0                               # a float32 non-leaf: its .grad is not cast
    h.retain_grad()
    y = f(h)
    assert y.dtype == np.float32, f"{name}: forward gives {y.dtype}"
    (y * y).sum().backward()
    assert h.grad is not None, f"{name}: retain_grad kept nothing"
    assert h.grad.dtype == np.float32, f"{name}: retained grad is {h.grad.dtype}"

    x2 = cr.tensor(X, requires_grad=True)
    h2 = x2 * 1.0
    out = f(h2)
    gx, gh = cr.autograd.grad((out * out).sum(), [x2, h2])
    assert gx.dtype == np.float32, f"{name}: autograd.grad of the leaf is {gx.dtype}"
    assert gh.dtype == np.float32, f"{name}: autograd.grad of a non-leaf is {gh.dtype}"
    np.testing.assert_allclose(gh.numpy(), h.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_the_retained_gradient_of_a_float32_non_leaf_matches_torch_in_value_and_dtype():
    x = cr.tensor(X, requires_grad=True)
    h = x * 2.5
    h.retain_grad()
    ((h * np.float64(3.0)).tanh() + 1.0 / (h * h + 1.0)).sum().backward()
    xt = torch.tensor(X, requires_grad=True)
    ht = xt * 2.5
    ht.retain_grad()
    ((ht * 3.0).tanh() + 1.0 / (ht * ht + 1.0)).sum().backward()
    assert h.grad.dtype == np.float32 and ht.grad.dtype == torch.float32
    np.testing.assert_allclose(h.grad.numpy(), ht.grad.numpy(), rtol=2e-5, atol=1e-6)


def test_leaves_that_receive_the_same_gradient_array_do_not_share_their_grad():
    """Add hands one array to both inputs: each leaf's .grad must own its memory, or the next
    accumulation into one changes the other."""
    x = cr.tensor(X, requires_grad=True)
    y = cr.tensor(X * 2, requires_grad=True)
    (x + y).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full_like(X, 4.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.ones_like(X))
    z = cr.tensor(X, requires_grad=True)
    z.sum().backward()                      # the root's own gradient array
    w = cr.tensor(X, requires_grad=True)
    (z.reshape(6) * 1.0).sum().backward()   # a view of the incoming gradient
    z.grad.numpy()[...] = 0.0
    (w * 5.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full_like(X, 5.0))


def test_a_node_used_by_several_consumers_sums_their_gradients_as_torch():
    """A diamond and a longer side path: the shared node's gradient is complete before it runs."""
    def f(lib, x):
        h = x * 2.0
        a = h.exp()
        b = (h * h).tanh() * 3.0
        c = ((h + 1.0) * 0.5).sigmoid().exp().sin()
        return (a + b + c * h).sum()

    x = cr.tensor(X.astype(np.float64), requires_grad=True)
    f(cr, x).backward()
    xt = torch.tensor(X.astype(np.float64), requires_grad=True)
    f(torch, xt).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    g, = cr.autograd.grad(f(cr, x), [x])
    np.testing.assert_allclose(g.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_autograd_grad_sums_a_leaf_used_twice():
    x64 = X.astype(np.float64)
    x = cr.tensor(x64, requires_grad=True)
    g, = cr.autograd.grad((x * x.exp()).sum(), [x])
    np.testing.assert_allclose(g.numpy(), np.exp(x64) * (1 + x64), rtol=1e-12)


def test_backward_twice_without_retain_graph_raises_and_with_it_accumulates():
    x = cr.tensor(X, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * X, rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retained_gradient_of_a_non_leaf_accumulates_over_backward_calls():
    x = cr.tensor(X, requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    (h * 2.0).sum().backward(retain_graph=True)
    (h * 2.0).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), np.full_like(X, 4.0))


def test_a_non_leaf_hook_return_value_replaces_the_gradient_flowing_on():
    x = cr.tensor(X, requires_grad=True)
    h = x * 3.0
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 30.0))


def test_several_roots_given_to_backward_add_their_gradients():
    x = cr.tensor(X, requires_grad=True)
    y = x * 2.0
    cr.autograd.backward([y.sum(), y.sum() * 3.0])
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 8.0))
    y2 = x * 1.0
    x.grad = None
    cr.autograd.backward([y2, y2], [cr.ones(2, 3), cr.ones(2, 3) * 2])
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(X, 3.0))
