"""gradcheck and gradgradcheck: they pass on correct ops and catch planted errors, naming the input
and the worst element."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def leaf(*shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return cr.tensor(a, dtype=cr.float64, requires_grad=True)


# -- test-only ops with planted errors -------------------------------------------------------------
class ScaledSin(Function):
    """sin whose backward is off by 1% everywhere: cos(x)·1.01."""

    def forward(self, xp, x):
        self.save(x)
        return xp.sin(x)

    def backward(self, xp, g):
        return (g * xp.cos(self.saved[0]) * 1.01,)


class SignFlippedSin(Function):
    """sin whose backward has the wrong sign: −cos(x)."""

    def forward(self, xp, x):
        self.save(x)
        return xp.sin(x)

    def backward(self, xp, g):
        return (-g * xp.cos(self.saved[0]),)


class OneBadElement(Function):
    """z = x·y with ∂z/∂y wrong at a single element, (1, 2): only y's gradient is bad, there."""

    def forward(self, xp, x, y):
        self.save(x, y)
        return x * y

    def backward(self, xp, g):
        x, y = self.saved
        gy = g * x
        gy = xp.where(np.arange(12).reshape(3, 4) == 6, gy + 0.5, gy)
        return g * y, gy


class DetachedSin(Function):
    """sin whose backward reads cos(x) from the raw array, so the first derivative is right but
    under create_graph the second derivative is lost (−sin x becomes 0)."""

    def forward(self, xp, x):
        self.save(x)
        return xp.sin(x)

    def backward(self, xp, g):
        x = self.saved[0]
        raw = x.numpy() if isinstance(x, cr.Tensor) else x
        return (g * np.cos(raw),)


# -- gradcheck passes on correct ops ---------------------------------------------------------------
@pytest.mark.parametrize("fn, shapes, positive", [
    (lambda x: x.tanh(), [(3, 4)], False),
    (lambda x, y: x * y + y.sigmoid(), [(3, 1), (1, 4)], False),
    (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 4)], False),
    (lambda x: x.log() * x.exp(), [(5,)], True),
    (lambda x: (x.sqrt() / (1 + x)).sum(), [(2, 2)], True),
])
def test_gradcheck_passes_on_correct_ops(fn, shapes, positive):
    inputs = [leaf(*s, seed=i, positive=positive) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs) is True


def test_gradcheck_accepts_non_contiguous_inputs():
    x = cr.from_numpy(np.random.default_rng(0).standard_normal((3, 4)).T).requires_grad_()
    assert not x.numpy().flags["C_CONTIGUOUS"]
    assert gradcheck(lambda x: x.tanh() * x, [x])


def test_gradcheck_samples_large_inputs_and_checks_a_random_direction():
    x = leaf(30, 30)
    assert gradcheck(lambda x: (x * x).tanh(), [x], max_elements=20)


# -- ... and catches wrong ones --------------------------------------------------------------------
def test_gradcheck_catches_a_backward_off_by_one_percent():
    x = leaf(3, 4)
    with pytest.raises(GradcheckError, match=r"gradient of input 0 \(shape \(3, 4\)\) is wrong at "
                                             r"element \(\d, \d\): backward gives .*finite "
                                             r"differences"):
        gradcheck(lambda x: ScaledSin.apply(x), [x])


def test_gradcheck_catches_the_wrong_sign_and_names_the_worst_element():
    x = leaf(5)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: SignFlippedSin.apply(x), [x])
    # the weights gradcheck draws: element e is off by 2·|u_e·cos(x_e)|; find the worst one
    with cr.no_grad():
        out = SignFlippedSin.apply(x)
    u = np.random.default_rng(0).standard_normal(out.shape)
    worst = int(np.argmax(np.abs(2 * u * np.cos(x.numpy()))))
    assert f"input 0 (shape (5,)) is wrong at element ({worst},)" in str(info.value)


def test_gradcheck_names_the_bad_input_and_the_exact_bad_element():
    x, y = leaf(3, 4, seed=1), leaf(3, 4, seed=2)
    with pytest.raises(GradcheckError, match=r"gradient of input 2 \(shape \(3, 4\)\) is wrong at "
                                             r"element \(1, 2\)"):
        gradcheck(lambda x, c, y: OneBadElement.apply(x, y) * c,
                  [x, cr.tensor(2.0, dtype=cr.float64), y])


def test_gradcheck_returns_false_without_raise_exception():
    assert gradcheck(lambda x: ScaledSin.apply(x), [leaf(4)], raise_exception=False) is False


def test_gradcheck_demands_float64_and_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="input 0 has dtype float32"):
        gradcheck(lambda x: x.tanh(), [cr.ones(3, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x.tanh(), [cr.ones(3, dtype=cr.float64)])


def test_gradcheck_leaves_the_inputs_as_they_were():
    x = leaf(4, 3)
    before = x.numpy().copy()
    gradcheck(lambda x: x.tanh(), [x])
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None


# -- gradgradcheck ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, shapes, positive", [
    (lambda x: x.tanh(), [(3, 4)], False),
    (lambda x, y: x * y * x, [(3, 1), (1, 4)], False),
    (lambda a, b: (a @ b).sigmoid(), [(2, 3), (3, 4)], False),
    (lambda x: x.log() * x.exp(), [(5,)], True),
    (lambda a, b: ((a @ b).tanh() @ b.T).exp().sum(), [(2, 3), (3, 4)], False),
    (lambda x: (x.sqrt() / x.sigmoid()) ** 2, [(2, 2)], True),
])
def test_gradgradcheck_passes_on_compositions(fn, shapes, positive):
    inputs = [leaf(*s, seed=i, positive=positive) for i, s in enumerate(shapes)]
    assert gradgradcheck(fn, inputs) is True


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = leaf(4)
    assert gradcheck(lambda x: DetachedSin.apply(x), [x])  # first derivative is fine ...
    with pytest.raises(GradcheckError, match=r"gradgradcheck \(second derivatives\): gradient "
                                             r"of input 0 \(shape \(4,\)\) is wrong"):
        gradgradcheck(lambda x: DetachedSin.apply(x), [x])  # ... the second is not
