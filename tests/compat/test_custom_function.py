"""PyTorch's custom-op API (ctx-style autograd.Function), run the same way on torch and chainrule."""
import numpy as np
import pytest
import torch

import chainrule as cr


def _make(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=1.0):
            ctx.save_for_backward(x)
            ctx.scale = scale                      # an arbitrary attribute on ctx
            return x * x * x * scale

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x * x * ctx.scale, None  # None for the non-tensor argument

    class MulAdd(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            idx = (a > 0).long()
            ctx.mark_non_differentiable(idx)
            ctx.seen = ctx.needs_input_grad
            return a * b, a + b, idx

        @staticmethod
        def backward(ctx, gp, gs, gi):
            a, b = ctx.saved_tensors
            ga = gp * b + gs if ctx.needs_input_grad[0] else None
            gb = gp * a + gs if ctx.needs_input_grad[1] else None
            return ga, gb

    class NoMaterialize(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.got = (g1 is None, g2 is None)
            out = 0
            if g1 is not None:
                out = out + g1 * 2
            if g2 is not None:
                out = out + g2 * 3
            return out

    return Cube, MulAdd, NoMaterialize


def _pair(values, requires_grad=True):
    a = np.asarray(values, dtype=np.float64)
    return (torch.tensor(a, requires_grad=requires_grad),
            cr.tensor(a, dtype=cr.float64, requires_grad=requires_grad))


def test_single_output_kwargs_and_attributes_match_torch():
    (tc, _, _), (cc, _, _) = _make(torch), _make(cr)
    xt, xc = _pair([-1.5, 0.5, 2.0])
    yt, yc = tc.apply(xt, scale=2.0), cc.apply(xc, scale=2.0)
    np.testing.assert_allclose(yc.numpy(), yt.detach().numpy())
    yt.sum().backward()
    yc.sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())
    assert yc.grad_fn.name() == "CubeBackward" and yt.grad_fn.name() == "CubeBackward"


def test_multiple_outputs_non_differentiable_and_needs_input_grad():
    (_, tm, _), (_, cm, _) = _make(torch), _make(cr)
    at, ac = _pair([1.0, -2.0, 3.0])
    bt, bc = _pair([0.5, 4.0, -1.0], requires_grad=False)
    rt, rc = tm.apply(at, bt), cm.apply(ac, bc)
    assert rt[2].requires_grad is False and rc[2].requires_grad is False
    assert rc[2].dtype == np.int64
    assert rc[0].grad_fn.name() == "MulAddBackward"
    (rt[0].sum() * 2 + (rt[1] ** 2).sum()).backward()
    (rc[0].sum() * 2 + (rc[1] ** 2).sum()).backward()
    np.testing.assert_allclose(ac.grad.numpy(), at.grad.numpy())
    assert bc.grad is None and bt.grad is None
    # only the first output used: the second's gradient is materialized as zeros
    at.grad = None
    ac.grad = None
    tm.apply(at, bt)[0].sum().backward()
    cm.apply(ac, bc)[0].sum().backward()
    np.testing.assert_allclose(ac.grad.numpy(), at.grad.numpy())


@pytest.mark.parametrize("use", [0, 1])
def test_set_materialize_grads_false_gives_none(use):
    (_, _, tn), (_, _, cn) = _make(torch), _make(cr)
    at, ac = _pair([1.0, 2.0])
    ot, oc = tn.apply(at), cn.apply(ac)
    ot[use].sum().backward()
    oc[use].sum().backward()
    np.testing.assert_allclose(ac.grad.numpy(), at.grad.numpy())
    assert oc[0].grad_fn.got == ot[0].grad_fn.got


def test_forward_runs_under_no_grad():
    seen = {}

    for lib in (torch, cr):
        class Probe(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                seen[lib.__name__] = lib.is_grad_enabled()
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        Probe.apply(lib.ones(2, requires_grad=True))
    assert seen == {"torch": False, "chainrule": False}


def test_gradcheck_and_double_backward():
    _, (cc, cm, _) = None, _make(cr)
    x = cr.tensor([0.3, -1.2, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: cc.apply(t, 0.7), [x])
    assert cr.autograd.gradgradcheck(lambda t: cc.apply(t, 0.7), [x])
    b = cr.tensor([0.5, 1.5, -2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda p, q: cm.apply(p, q)[0] + cm.apply(p, q)[1], [x, b])
    (tc, _, _) = _make(torch)
    xt = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    gt, = torch.autograd.grad(tc.apply(xt).sum(), xt, create_graph=True)
    ht, = torch.autograd.grad(gt.sum(), xt)
    gc, = cr.autograd.grad(cc.apply(x).sum(), x, create_graph=True)
    hc, = cr.autograd.grad(gc.sum(), x)
    np.testing.assert_allclose(gc.detach().numpy(), gt.detach().numpy())
    np.testing.assert_allclose(hc.numpy(), ht.numpy())          # 6x


def test_modified_saved_tensor_is_refused_and_twice_without_retain():
    (cc, _, _) = _make(cr)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = cc.apply(h)
    with cr.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    y = cc.apply(x * 1.0)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_wrong_number_of_gradients_is_a_clear_error():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradient"):
        Bad.apply(a, a).sum().backward()


def test_primitives_keep_their_own_apply():
    from chainrule.ops.elementwise import Mul
    assert Mul.apply.__func__ is cr.autograd.Function.apply.__func__


def test_autograd_grad_has_torchs_signature():
    import inspect
    ours = list(inspect.signature(cr.autograd.grad).parameters)
    theirs = list(inspect.signature(torch.autograd.grad).parameters)
    assert ours == theirs
    for lib in (torch, cr):
        a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
        ga, gb = lib.autograd.grad((a * 3).sum(), (a, b), materialize_grads=True)
        assert gb.shape == (3,) and not gb.numpy().any() and float(ga.sum()) == 6.0
        assert lib.autograd.grad((a * 3).sum(), (a, b), allow_unused=True)[1] is None
        with pytest.raises(RuntimeError):
            lib.autograd.grad((a * 3).sum(), (a, b))
