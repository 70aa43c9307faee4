"""chainrule.func against torch.func: grad, grad_and_value, vjp, jacrev, hessian, hvp, and how they
compose. Everything in float64 so agreement can be tight."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.func as tf
from torch.autograd.functional import hvp as torch_hvp

import chainrule as cr
from chainrule import func

RTOL, ATOL = 1e-10, 1e-12

# torch.func imports torch.jit.script, which warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def arr(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def close(a, b):
    a, b = arr(a), arr(b)
    assert a.shape == b.shape, f"shape {a.shape} vs torch {b.shape}"
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def nested_close(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            nested_close(x, y)
    else:
        close(a, b)


def pair(*shapes, seed=0):
    """The same random float64 values as chainrule and torch tensors."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    return [cr.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


# A small MLP written once against the Tensor methods both libraries share.
def mlp_loss(x, w1, b1, w2, b2, y):
    h = (x @ w1 + b1).tanh()
    out = h @ w2 + b2
    return ((out - y) ** 2).mean() + (out.sigmoid() * h.sum()).mean()


SHAPES = [(5, 3), (3, 4), (4,), (4, 2), (2,), (5, 2)]


# -- grad, grad_and_value, vjp ---------------------------------------------------------------------
@pytest.mark.parametrize("argnums", [0, 1, 3, (1, 2), (0, 3, 4), -2])
def test_grad_matches_torch(argnums):
    c, t = pair(*SHAPES)
    nested_close(func.grad(mlp_loss, argnums)(*c), tf.grad(mlp_loss, argnums)(*t))


def test_grad_and_value_and_aux_match_torch():
    c, t = pair(*SHAPES)

    def with_aux(lib):
        def f(x, w1, b1, w2, b2, y):
            loss = mlp_loss(x, w1, b1, w2, b2, y)
            return loss, {"scaled": loss * 2, "w": w1}
        return f

    g, (value, aux) = func.grad_and_value(with_aux(cr), (1, 3), has_aux=True)(*c)
    tg, (tvalue, taux) = tf.grad_and_value(with_aux(torch), (1, 3), has_aux=True)(*t)
    nested_close(g, tg)
    close(value, tvalue)
    close(aux["scaled"], taux["scaled"])
    assert not value.requires_grad and not aux["scaled"].requires_grad
    g2, aux2 = func.grad(with_aux(cr), 1, has_aux=True)(*c)
    close(g2, tg[0])
    close(aux2["w"], c[1])


def test_vjp_with_several_outputs_and_repeated_calls():
    c, t = pair((3, 4), (4, 2), (3, 2), (3, 2))

    def f(a, b):
        p = a @ b
        return p.tanh(), (p * p).sum()

    out, fn = func.vjp(f, c[0], c[1])
    tout, tfn = tf.vjp(f, t[0], t[1])
    nested_close(out, tout)
    for k in (2, 3):  # the same vjp_fn, called twice with different cotangents
        u = (c[k], cr.tensor(0.7, dtype=cr.float64))
        tu = (t[k], torch.tensor(0.7, dtype=torch.float64))
        grads = fn(u)
        assert isinstance(grads, tuple) and len(grads) == 2
        nested_close(grads, tfn(tu))


def test_vjp_rejects_a_cotangent_of_the_wrong_shape():
    x = cr.ones(3, dtype=cr.float64)
    _, fn = func.vjp(lambda x: x.tanh(), x)
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(2,\).*shape \(3,\)"):
        fn(cr.ones(2, dtype=cr.float64))


# -- jacrev, hessian, hvp --------------------------------------------------------------------------
def test_jacrev_matches_torch_shapes_and_values():
    c, t = pair((2, 3), (3, 4))

    def f(a, b):
        return (a @ b).sigmoid() * a.sum()

    j = func.jacrev(f)(*c)
    assert j.shape == (2, 4, 2, 3)           # out.shape + in.shape
    close(j, tf.jacrev(f)(*t))
    nested_close(func.jacrev(f, (0, 1))(*c), tf.jacrev(f, (0, 1))(*t))
    nested_close(func.jacobian(lambda a: (a.exp(), a.sum()), 0)(c[0]),
                 tf.jacrev(lambda a: (a.exp(), a.sum()), 0)(t[0]))


def test_jacrev_of_an_input_the_output_ignores_is_zero():
    x, y = cr.ones(3, dtype=cr.float64), cr.ones(2, dtype=cr.float64)
    jx, jy = func.jacrev(lambda x, y: x * 2, (0, 1))(x, y)
    np.testing.assert_array_equal(jx.numpy(), 2 * np.eye(3))
    np.testing.assert_array_equal(jy.numpy(), np.zeros((3, 2)))


def test_hessian_of_mlp_loss_matches_torch():
    c, t = pair(*SHAPES)
    # w.r.t. the input (a matrix: H has shape x.shape + x.shape) ...
    h = func.hessian(mlp_loss)(*c)
    assert h.shape == (5, 3, 5, 3)
    close(h, tf.hessian(mlp_loss)(*t))
    # ... and w.r.t. two parameters at once: H[i][j] = ∂²L/∂θᵢ∂θⱼ
    nested_close(func.hessian(mlp_loss, (1, 2))(*c), tf.hessian(mlp_loss, (1, 2))(*t))


def test_hessian_of_mlp_loss_in_flat_parameters_is_symmetric_and_matches_torch():
    c, t = pair((5, 3), (3 * 4 + 4 + 4 * 2 + 2,), (5, 2), seed=3)

    def loss(theta, x, y):
        w1 = theta[:12].reshape(3, 4)
        b1 = theta[12:16]
        w2 = theta[16:24].reshape(4, 2)
        return mlp_loss(x, w1, b1, w2, theta[24:], y)

    h = func.hessian(loss)(c[1], c[0], c[2])
    close(h, tf.hessian(loss)(t[1], t[0], t[2]))
    np.testing.assert_allclose(h.numpy(), h.numpy().T, rtol=1e-12, atol=1e-14)


def test_hvp_of_mlp_loss_matches_torch():
    c, t = pair(*SHAPES, (3, 4), (4, 2), seed=1)
    v, tv = c[6:], t[6:]

    def f(w1, w2):
        return mlp_loss(c[0], w1, c[2], w2, c[4], c[5])

    def tfn(w1, w2):
        return mlp_loss(t[0], w1, t[2], w2, t[4], t[5])

    value, hv = func.hvp(f, (c[1], c[3]), tuple(v))
    tvalue, thv = torch_hvp(tfn, (t[1], t[3]), tuple(tv))
    close(value, tvalue)
    nested_close(hv, thv)
    # a single tensor in gives a single tensor out, equal to the dense Hessian times v
    value1, hv1 = func.hvp(lambda w1: f(w1, c[3]), c[1], v[0])
    close(hv1, torch_hvp(lambda w1: tfn(w1, t[3]), t[1], tv[0])[1])
    h = func.hessian(lambda w1: f(w1, c[3]))(c[1])
    close(hv1, np.tensordot(h.numpy(), v[0].numpy(), axes=2))


def test_hvp_with_create_graph_is_differentiable_like_torch():
    c, t = pair((4,), (4,), seed=2)
    x = cr.tensor(c[0].numpy(), requires_grad=True)
    tx = t[0].clone().requires_grad_(True)

    def f(lib_x):
        return (lib_x.sin() * lib_x).sum() ** 2

    _, hv = func.hvp(f, x, c[1], create_graph=True)
    _, thv = torch_hvp(f, tx, t[1], create_graph=True)
    assert hv.requires_grad
    hv.sum().backward()
    thv.sum().backward()
    close(x.grad, tx.grad)


def test_hvp_of_a_linear_function_is_zero_and_strict_says_so():
    x = cr.ones(3, dtype=cr.float64)
    _, hv = func.hvp(lambda x: (x * 2).sum(), x, x)
    np.testing.assert_array_equal(hv.numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="strict"):
        func.hvp(lambda x: (x * 2).sum(), x, x, strict=True)


# -- composition -----------------------------------------------------------------------------------
def test_hessian_is_jacrev_of_grad_and_of_jacrev():
    c, _ = pair(*SHAPES, seed=4)
    h = func.hessian(mlp_loss, 1)(*c)
    close(h, func.jacrev(func.grad(mlp_loss, 1), 1)(*c))
    close(h, func.jacrev(func.jacrev(mlp_loss, 1), 1)(*c))


def test_third_derivative_by_nesting_grad():
    f = lambda x: (x ** 3 * x.sin()).sum()  # noqa: E731
    x = cr.tensor(0.8, dtype=cr.float64)
    tx = torch.tensor(0.8, dtype=torch.float64)
    close(func.grad(func.grad(func.grad(f)))(x), tf.grad(tf.grad(tf.grad(f)))(tx))


def test_mixed_partials_through_a_closed_over_tensor():
    # jacrev over w of (grad over x of f(x, w)): the inner transform must stay connected to w
    # although w is not one of its arguments.
    c, t = pair((3,), (3, 3), seed=5)

    def f(x, w):
        return ((w @ x).tanh() * x).sum()

    def mixed(lib, x, w):
        g = func.grad if lib is cr else tf.grad
        j = func.jacrev if lib is cr else tf.jacrev
        return j(lambda w_: g(lambda x_: f(x_, w_))(x))(w)

    m = mixed(cr, *c)
    assert m.shape == (3, 3, 3)
    close(m, mixed(torch, *t))


def test_grad_composes_with_ordinary_backward():
    c, t = pair((4,), seed=6)
    w = cr.tensor(c[0].numpy(), requires_grad=True)
    tw = t[0].clone().requires_grad_(True)
    f = lambda v: (v.tanh() ** 2).sum()  # noqa: E731
    g = func.grad(f)(w)
    tg = tf.grad(f)(tw)
    assert g.requires_grad
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    close(w.grad, tw.grad)


# -- the notes: backprop is a product of Jacobians -------------------------------------------------
def test_gradient_equals_product_of_per_layer_jacobians():
    """For a_1 = tanh(W_1 x + b_1), a_2 = tanh(W_2 a_1 + b_2), a_3 = W_3 a_2 + b_3 and a loss L(a_3),
    ∂L/∂x = J_L(a_3) · J_{a_3}(a_2) · J_{a_2}(a_1) · J_{a_1}(x) (notes, chapter 4: "This is
    backpropagation"), and ∂L/∂W_1 = J_L · J_3 · J_2 · J_{a_1}(W_1)."""
    rng = np.random.default_rng(7)
    sizes = [5, 4, 3, 2]
    ws = [cr.tensor(rng.standard_normal((o, i))) for i, o in zip(sizes, sizes[1:])]
    bs = [cr.tensor(rng.standard_normal(o)) for o in sizes[1:]]
    x = cr.tensor(rng.standard_normal(sizes[0]))
    target = cr.tensor(rng.standard_normal(sizes[-1]))

    def layer(k, a, w=None):
        z = (ws[k] if w is None else w) @ a + bs[k]
        return z if k == 2 else z.tanh()

    def loss(a3):
        return ((a3 - target) ** 2).sum()

    acts = [x]
    for k in range(3):
        acts.append(layer(k, acts[-1]))
    jacobians = [func.jacrev(lambda a, k=k: layer(k, a))(acts[k]) for k in range(3)]
    assert [j.shape for j in jacobians] == [(4, 5), (3, 4), (2, 3)]
    j_loss = func.jacrev(loss)(acts[3])                     # 1 × M_3 (a vector here)
    product = j_loss.numpy() @ jacobians[2].numpy() @ jacobians[1].numpy() @ jacobians[0].numpy()

    def whole(x):
        return loss(layer(2, layer(1, layer(0, x))))

    g = func.grad(whole)(x)
    np.testing.assert_allclose(g.numpy(), product, rtol=1e-12, atol=1e-14)

    upstream = j_loss.numpy() @ jacobians[2].numpy() @ jacobians[1].numpy()        # 1 × M_1
    j_w1 = func.jacrev(lambda w: layer(0, x, w))(ws[0])                   # M_1 × (M_1 × D)
    g_w1 = func.grad(lambda w: loss(layer(2, layer(1, layer(0, x, w)))))(ws[0])
    np.testing.assert_allclose(g_w1.numpy(), np.tensordot(upstream, j_w1.numpy(), axes=1),
                               rtol=1e-12, atol=1e-14)


# -- what a transform must not do, and its errors --------------------------------------------------
def test_transforms_leave_the_callers_tensors_alone():
    x = cr.tensor([0.3, -0.2, 0.5], dtype=cr.float64)
    p = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    before = x.numpy().copy()
    f = lambda x, p: ((x * p).tanh() ** 2).sum()  # noqa: E731
    func.grad(f)(x, p)
    func.hessian(f)(x, p)
    func.hvp(lambda x: f(x, p), x, x)
    func.vjp(f, x, p)[1](cr.tensor(1.0, dtype=cr.float64))
    assert not x.requires_grad and x.grad is None and x.is_leaf
    assert p.grad is None
    np.testing.assert_array_equal(x.numpy(), before)


def test_results_are_detached_at_top_level():
    x = cr.tensor([0.3, 0.2], dtype=cr.float64)
    f = lambda x: (x.exp() * x).sum()  # noqa: E731
    g, v = func.grad_and_value(f)(x)
    assert not g.requires_grad and not v.requires_grad
    assert not func.hessian(f)(x).requires_grad


def test_grad_ignores_an_outer_no_grad():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64)
    with cr.no_grad():
        g = func.grad(lambda x: (x * x).sum())(x)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])


def test_transforms_keep_float32():
    x = cr.tensor([0.5, 1.5])
    f = lambda x: (x.tanh() * x).sum()  # noqa: E731
    assert func.grad(f)(x).dtype == np.float32
    assert func.hessian(f)(x).dtype == np.float32
    assert func.hvp(f, x, cr.ones(2))[1].dtype == np.float32


def test_grad_of_an_unused_argument_is_zero():
    g = func.grad(lambda x, y: (x * 3).sum(), 1)(cr.ones(2), cr.ones(4))
    np.testing.assert_array_equal(g.numpy(), np.zeros(4, dtype=np.float32))


def test_errors_name_the_transform_and_the_problem():
    x = cr.ones(3)
    with pytest.raises(RuntimeError, match=r"grad: .*one-element Tensor, got shape \(3,\)"):
        func.grad(lambda x: x * 2)(x)
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        func.grad(lambda x, y: (x * y).sum(), 2)(x, x)
    with pytest.raises(TypeError, match="argument 0 has dtype int64"):
        func.grad(lambda x: x.sum())(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="argument 0 must be a Tensor"):
        func.jacrev(lambda x: x)(np.ones(3))
    with pytest.raises(TypeError, match=r"has_aux=True.*pair"):
        func.grad(lambda x: x.sum(), has_aux=True)(x)


def test_func_module_docstring_examples():
    import chainrule.func as mod
    result = doctest.testmod(mod)
    assert result.attempted >= 2 and result.failed == 0


def test_transforms_pass_gradcheck_so_their_derivatives_are_right_without_torch():
    # gradcheck of grad(f) checks the Hessian against finite differences of the gradient.
    w = cr.tensor(np.random.default_rng(8).standard_normal((3, 2)), dtype=cr.float64,
                  requires_grad=True)
    x = cr.tensor(np.random.default_rng(9).standard_normal((4, 3)), dtype=cr.float64)

    def loss(w):
        return ((x @ w).tanh() ** 2).sum()

    assert cr.autograd.gradcheck(func.grad(loss), [w])
    assert cr.autograd.gradcheck(lambda w: func.jacrev(lambda v: (x @ v).sigmoid())(w), [w])
    assert cr.autograd.gradcheck(lambda w: func.hvp(loss, w, cr.ones(3, 2, dtype=cr.float64),
                                                      create_graph=True)[1],
                                 [w])
