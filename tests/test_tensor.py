"""Tensor: construction, dtype rules, conversions, repr, in-place ops, errors."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_constructor_dtypes_follow_pytorch():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_
    assert cr.tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
    assert cr.tensor(np.zeros(2, dtype=np.uint8)).dtype == np.uint8
    assert cr.zeros(2, 3).dtype == np.float32 and cr.zeros(2, 3).shape == (2, 3)
    assert cr.ones((2, 3)).shape == (2, 3) and cr.empty([4]).shape == (4,)
    assert cr.arange(5).dtype == np.int64 and cr.arange(0, 1, 0.25).dtype == np.float32
    assert cr.full((2,), 7).dtype == np.int64 and cr.full((2,), 0.5).dtype == np.float32
    assert cr.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cr.eye(3).numpy().trace() == 3
    assert cr.randint(0, 10, (3, 4)).dtype == np.int64
    assert cr.zeros_like(cr.ones(2, dtype=cr.float64)).dtype == np.float64


def test_default_dtype_can_be_changed():
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.tensor([1.5]).dtype == np.float64 and cr.randn(2).dtype == np.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError):
        cr.set_default_dtype(np.int32)


@pytest.mark.parametrize("a,b,expected", [
    (cr.ones(2), 2.5, np.float32),                                   # Python float keeps float32
    (cr.ones(2, dtype=cr.float64), 2, np.float64),
    (cr.arange(3), 0.5, np.float32),                                # int tensor * float → default
    (cr.arange(3), 2, np.int64),
    (cr.ones(2), cr.ones(2, dtype=cr.float64), np.float64),         # float32 with float64 → 64
    (cr.ones(2), cr.tensor(np.float64(2.0)), np.float32),           # 0-d tensor does not win
    (cr.arange(3), cr.ones(3), np.float32),                         # int64 with float32 → 32
    (cr.ones(2), np.ones(2, dtype=np.float64), np.float64),
])
def test_promotion_rules(a, b, expected):
    assert (a * b).dtype == expected
    reflected = b * a           # the reflected operand order (__rmul__ for scalars and arrays)
    assert isinstance(reflected, cr.Tensor), type(reflected)
    assert reflected.dtype == expected


def test_random_constructors_are_reproducible_from_manual_seed():
    cr.manual_seed(123)
    a = cr.randn(3, 3)
    cr.manual_seed(123)
    b = cr.randn(3, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    cr.manual_seed(124)
    assert not np.array_equal(a.numpy(), cr.randn(3, 3).numpy())


def test_conversions_and_facts():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.size() == (2, 2) and t.size(1) == 2
    assert t.numel() == 4 and len(t) == 2
    assert t.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t[1, 0].item() == 3.0
    assert np.asarray(t).shape == (2, 2) and isinstance(t.numpy(), np.ndarray)
    d = t.detach()
    assert not d.requires_grad and d.numpy() is t.numpy()
    c = t.clone()
    assert c.requires_grad and c.numpy() is not t.numpy()
    assert t.double().dtype == np.float64 and t.long().dtype == np.int64
    assert t.to(cr.float64).dtype == np.float64 and t.float().dtype == np.float32
    assert t.is_leaf and not (t * 2).is_leaf
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_cast_is_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_repr_is_readable():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(cr.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward0>" in repr(cr.ones(1, requires_grad=True) * 2)
    assert "dtype=chainrule.float64" in repr(cr.ones(1, dtype=cr.float64))   # as torch


def test_in_place_ops():
    t = cr.zeros(3)
    t.fill_(2.0).add_(1).mul_(2)
    assert t.tolist() == [6.0, 6.0, 6.0]
    t.copy_(cr.tensor([1.0, 2.0, 3.0]))
    t[0] = 9.0
    assert t.tolist() == [9.0, 2.0, 3.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="copy_"):
        t.copy_(cr.ones(4))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("fn,pattern", [
    (lambda: cr.ones(3, 4) @ cr.ones(5, 6), r"matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5"),
    (lambda: cr.ones(3) + cr.ones(4), r"add: .*\(3,\).*\(4,\)"),
    (lambda: cr.ones(3).reshape(2, 2), r"reshape: cannot view a tensor of shape \(3,\)"),
    (lambda: cr.cat([cr.ones(2, 3), cr.ones(2, 4)]), r"cat: tensors of shapes \(2, 3\), \(2, 4\)"),
    (lambda: cr.ones(2, 3).sum(dim=5), r"sum: Dimension out of range .*\[-2, 1\], but got 5"),
    (lambda: cr.tensor("abc"), r"cannot make a tensor"),
])
def test_bad_input_errors_name_the_op_and_shapes(fn, pattern):
    with pytest.raises((ValueError, TypeError, IndexError), match=pattern):
        fn()


def test_operators_with_numpy_arrays_and_scalars():
    x = cr.tensor([1.0, 2.0])
    a = np.array([10.0, 20.0], dtype=np.float32)
    assert (a + x).tolist() == [11.0, 22.0] and isinstance(a + x, cr.Tensor)
    assert (2 - x).tolist() == [1.0, 0.0] and (2 / x).tolist() == [2.0, 1.0]
    assert (x ** 2).tolist() == [1.0, 4.0] and (2 ** x).tolist() == [2.0, 4.0]
    assert (x > 1).tolist() == [False, True] and (x == 2).dtype == np.bool_


@pytest.mark.parametrize("fn,pattern", [
    (lambda: cr.ones(2) + "a", r"unsupported operand"),
    (lambda: cr.add(cr.ones(2), {"a": 1}), r"add: expected a Tensor, array or number, got dict"),
    (lambda: cr.exp("x"), r"exp: expected a Tensor, array or number, got str"),
    (lambda: cr.matmul(cr.ones(2, 2), object()), r"matmul: expected a Tensor"),
])
def test_wrong_argument_types_raise_type_error(fn, pattern):
    with pytest.raises(TypeError, match=pattern):
        fn()
