"""Views share their base's version counter; ``.data`` and copies do not (PyTorch's rules).

Each case is run on chainrule and on PyTorch: both must raise, or both must give the same grad.
"""
import numpy as np
import pytest
import torch

import chainrule as cr

# (name, make a view of a 2x3 tensor `a`) — each returns a tensor sharing a's storage
VIEWS = [
    ("slice", lambda a: a[0:1]),
    ("int index", lambda a: a[1]),
    ("reshape", lambda a: a.reshape(3, 2)),
    ("view", lambda a: a.view(6)),
    ("transpose", lambda a: a.transpose(0, 1)),
    ("t", lambda a: a.t()),
    ("permute", lambda a: a.permute(1, 0)),
    ("unsqueeze", lambda a: a.unsqueeze(0)),
    ("flatten", lambda a: a.flatten()),
    ("view of a view", lambda a: a[:, 1:].transpose(0, 1)[1]),
    ("detach", lambda a: a.detach()),
]


def _run(lib, make_view, modify):
    """w * a is saved for backward, then a view (or a itself) is changed in place."""
    w = lib.ones(2, 3, requires_grad=True)
    a = lib.arange(6.0).reshape(2, 3).clone() if lib is torch else cr.arange(6.0).reshape(2, 3)
    y = (w * a).sum()
    modify(a, make_view)
    try:
        y.backward()
    except RuntimeError:
        return "raised"
    return np.asarray(w.grad).copy()


def _modify_view(a, make_view):
    make_view(a).mul_(10)


@pytest.mark.parametrize("name,make_view", VIEWS, ids=[v[0] for v in VIEWS])
def test_in_place_change_through_a_view_of_a_saved_tensor_is_caught(name, make_view):
    assert _run(cr, make_view, _modify_view) == "raised"
    assert _run(torch, make_view, _modify_view) == "raised"


@pytest.mark.parametrize("name,make_view", VIEWS, ids=[v[0] for v in VIEWS])
def test_in_place_change_to_the_base_of_a_saved_view_is_caught(name, make_view):
    def run(lib):
        w = lib.ones(2, 3, requires_grad=True)
        a = lib.arange(6.0).reshape(2, 3).clone() if lib is torch else cr.arange(6.0).reshape(2, 3)
        v = make_view(a)
        y = ((w if name == "detach" else make_view(w)) * v).sum()
        a.add_(1)
        with pytest.raises(RuntimeError, match="modified|inplace"):
            y.backward()
    run(cr)
    run(torch)


def test_sibling_views_share_one_counter():
    def run(lib):
        w = lib.ones(3, requires_grad=True)
        a = lib.zeros(2, 3)
        y = (w * a[0]).sum()
        a[1].fill_(5.0)      # another view of the same base: PyTorch counts it as a change of a[0]
        with pytest.raises(RuntimeError):
            y.backward()
    run(cr)
    run(torch)


def test_the_issue_example():
    w = cr.ones(4, requires_grad=True)
    a = cr.arange(4.0)
    y = (w * a).sum()
    a[0:2].mul_(10)
    with pytest.raises(RuntimeError, match="mul: an input of shape \\(4,\\).*modified in place"):
        y.backward()


@pytest.mark.parametrize("modify", [
    lambda a: a.data.mul_(10),                       # .data is outside autograd, as in PyTorch
    lambda a: a[[0, 1]].mul_(10),                    # advanced indexing copies
    lambda a: a.reshape(2, 3).t().reshape(6).mul_(10),   # a reshape that has to copy
], ids=["data", "advanced index", "copying reshape"])
def test_changes_outside_the_shared_counter_are_not_reported(modify):
    def run(lib):
        w = lib.ones(6, requires_grad=True)
        a = lib.arange(6.0)
        y = (w * a).sum()
        modify(a)
        y.backward()
        return np.asarray(w.grad).copy()
    np.testing.assert_array_equal(run(cr), run(torch))


def test_optimizer_step_between_forward_and_backward_is_caught():
    def run(lib):
        w = lib.ones(3, requires_grad=True)
        opt = (torch.optim if lib is torch else cr.optim).SGD([w], lr=0.1)
        y = (w * w).sum()
        w.grad = lib.ones(3)
        opt.step()
        with pytest.raises(RuntimeError):
            y.backward()
    run(cr)
    run(torch)


class TestData:
    def test_is_a_tensor_outside_autograd_sharing_storage(self):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        for t in (x, y):
            d = t.data
            assert isinstance(d, cr.Tensor)
            assert not d.requires_grad and d.grad_fn is None
            assert np.shares_memory(d.numpy(), t.numpy())
        x.data.mul_(3)
        np.testing.assert_array_equal(x.numpy(), [3.0, 6.0])

    def test_setter_keeps_identity_and_accepts_any_shape(self):
        p = cr.nn.Parameter(cr.zeros(2))
        ident = id(p)
        p.data = cr.ones(3, 2)
        assert id(p) == ident and p.shape == (3, 2) and p.requires_grad
        np.testing.assert_array_equal(p.numpy(), np.ones((3, 2)))
        t = torch.nn.Parameter(torch.zeros(2))
        t.data = torch.ones(3, 2)
        assert tuple(t.shape) == p.shape

    def test_setter_refuses_integers_on_a_tensor_that_requires_grad(self):
        p = cr.zeros(2, requires_grad=True)
        with pytest.raises(TypeError, match="floating-point"):
            p.data = cr.tensor([1, 2])

    def test_update_through_data_in_a_training_loop(self):
        """The classic pre-optim.SGD idiom `p.data -= lr * p.grad.data` works as in PyTorch."""
        def run(lib):
            w = lib.tensor([1.0, -2.0], requires_grad=True)
            for _ in range(3):
                loss = (w * w).sum()
                w.grad = None
                loss.backward()
                w.data -= 0.25 * w.grad.data
            return np.asarray(w.detach()).copy()
        np.testing.assert_allclose(run(cr), run(torch), rtol=1e-6)


def test_a_detached_tensor_or_view_does_not_keep_its_source_graph_alive():
    """Sharing a version counter must not hold the source Tensor (and so its graph)."""
    import gc
    import weakref
    w = cr.ones(3, requires_grad=True)
    b = (w * 2).tanh()
    node = weakref.ref(b.grad_fn)
    kept = [b.detach(), b.detach()[1:]]
    del b
    gc.collect()
    assert node() is None
    kept[0].mul_(2)                        # still one counter between them
    assert kept[1]._vcell is kept[0]._vcell


def test_np_array_copies_and_np_asarray_shares():
    t = cr.tensor([1.0, 2.0])
    a = np.array(t)
    a[0] = 5.0
    assert t.numpy()[0] == 1.0            # np.array copies, as with torch tensors
    b = np.asarray(t)
    b[0] = 7.0
    assert t.numpy()[0] == 7.0            # np.asarray shares storage
