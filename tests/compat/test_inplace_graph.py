"""In-place ops inside a graph are recorded as PyTorch records them; checked against torch."""
import numpy as np
import pytest
import torch

import chainrule as cr

CASES = {
    "add_": lambda y, b: y.add_(b, alpha=2),
    "sub_": lambda y, b: y.sub_(b),
    "mul_": lambda y, b: y.mul_(b),
    "div_": lambda y, b: y.div_(b),
    "setitem": lambda y, b: y.__setitem__(1, b[0] * 3),
    "setitem_slice": lambda y, b: y.__setitem__(slice(0, 2), b[1:]),
    "copy_": lambda y, b: y.copy_(b * b),
    "copy_broadcast": lambda y, b: y.copy_(b[2]),
    "zero_": lambda y, b: y.zero_(),
    "fill_": lambda y, b: y.fill_(b[2]),
    "add_constant": lambda y, b: y.add_(1.5),
}


def _run(lib, change):
    x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = x * 2
    z = y + 1                    # used before the change: must see the old value's graph
    change(y, b)
    assert not y.is_leaf and y.requires_grad
    ((y * y).sum() + (z * z).sum()).backward()
    grads = [None if t.grad is None else t.grad.numpy().copy() for t in (x, b)]
    return y.detach().numpy().copy(), grads


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_on_a_non_leaf_matches_torch(name):
    (yt, gt), (yc, gc) = _run(torch, CASES[name]), _run(cr, CASES[name])
    np.testing.assert_allclose(yc, yt)
    for a, c in zip(gt, gc):
        if a is None:
            assert c is None or not c.any()
        else:
            np.testing.assert_allclose(c, a)


def test_grad_fn_is_rebased_onto_the_inplace_op():
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    y[0] = 5.0
    assert y.grad_fn.name() == "CopySlices"
    yt = torch.ones(3, requires_grad=True) * 2
    yt[0] = 5.0
    assert yt.grad_fn.name().endswith("CopySlices")


def test_assigning_a_grad_value_into_a_plain_buffer_records_it():
    for lib in (torch, cr):
        x = lib.tensor([2.0, 3.0], requires_grad=True)
        buf = lib.zeros(3)
        buf[1:] = x * x
        assert buf.requires_grad
        buf.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


def test_saved_value_modified_in_place_is_still_refused():
    for lib in (torch, cr):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        e = y.exp()               # exp saves its output
        e.mul_(2)
        with pytest.raises(RuntimeError, match="modified"):
            e.sum().backward()
        y2 = (x * 2).sigmoid()
        w = y2 * x                # mul saves y2
        y2.add_(1)
        with pytest.raises(RuntimeError, match="modified"):
            w.sum().backward()


def test_leaf_that_requires_grad_still_refuses():
    for lib in (torch, cr):
        x = lib.ones(2, requires_grad=True)
        for op in (lambda: x.add_(1), lambda: x.zero_(), lambda: x.__setitem__(0, 2.0)):
            with pytest.raises(RuntimeError, match="leaf"):
                op()
        with lib.no_grad():
            x.add_(1)
        assert x.is_leaf and float(x.detach().sum()) == 4.0


def test_aliased_tensor_refuses_with_a_clear_message():
    y = cr.ones(3, requires_grad=True) * 2
    v = y[1:]                     # a view shares y's storage
    with pytest.raises(RuntimeError, match="shares its storage"):
        y.mul_(3)
    with pytest.raises(RuntimeError, match="shares its storage"):
        v.add_(1)


def test_double_backward_through_a_recorded_inplace_op():
    x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    xt = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    hs = []
    for lib, v in ((cr, x), (torch, xt)):
        y = v * v
        y.mul_(v)                 # y = x³
        g, = lib.autograd.grad(y.sum(), v, create_graph=True)
        h, = lib.autograd.grad(g.sum(), v)
        hs.append(h.detach().numpy())
    np.testing.assert_allclose(hs[0], hs[1])            # 6x
