"""Small PyTorch idioms, each run on torch and on chainrule."""
import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("spec", ["+.2f", ".3e", "", "8.1f"])
def test_format_of_a_0d_tensor(spec):
    assert format(cr.tensor(3.14159), spec) == format(torch.tensor(3.14159), spec)
    assert f"{cr.tensor(2.5):.1f}" == f"{torch.tensor(2.5):.1f}"


def test_format_spec_on_a_non_scalar_raises_as_torch():
    with pytest.raises(TypeError):
        format(torch.ones(2), ".2f")
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        format(cr.ones(2), ".2f")


def test_iteration_stops_and_rows_are_differentiable():
    w = np.arange(6.0).reshape(3, 2)
    rows_t = [r for r in torch.tensor(w)]
    rows_c = [r for r in cr.tensor(w)]
    assert len(rows_c) == len(rows_t) == 3
    for rt, rc in zip(rows_t, rows_c):
        np.testing.assert_array_equal(rc.numpy(), rt.numpy())
    x = cr.ones(3, 2, requires_grad=True)
    sum(r.sum() * (i + 1) for i, r in enumerate(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [2, 2], [3, 3]])


def test_out_of_range_index_is_an_index_error():
    with pytest.raises(IndexError):
        torch.ones(2, 3)[5]
    with pytest.raises(IndexError, match="index 5"):
        cr.ones(2, 3)[5]
    with pytest.raises(cr.autograd.OpError):      # still chainrule's error type
        cr.ones(2, 3)[0, 7]


def test_len_and_iter_of_a_0d_tensor_raise_type_error():
    for lib in (torch, cr):
        with pytest.raises(TypeError):
            len(lib.tensor(1.0))
        with pytest.raises(TypeError):
            iter(lib.tensor(1.0))


@pytest.mark.parametrize("dtype,name", [(np.float32, "FloatTensor"), (np.float64, "DoubleTensor"),
                                        (np.int64, "LongTensor"), (np.bool_, "BoolTensor")])
def test_type_name_and_cast(dtype, name):
    a = np.zeros(2, dtype)
    assert torch.tensor(a).type() == "torch." + name
    assert cr.tensor(a).type() == "chainrule." + name
    for spec in ("torch." + name, "chainrule." + name, name):
        assert cr.ones(2).type(spec).dtype == np.dtype(dtype)
        assert torch.ones(2).type("torch." + name).dtype == torch.from_numpy(a).dtype
    assert cr.ones(2).type(cr.float64).dtype == np.float64
    with pytest.raises(TypeError, match="unknown tensor type"):
        cr.ones(2).type("chainrule.WeirdTensor")


def test_inference_mode_context_and_decorators():
    for lib in (torch, cr):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            assert not (x * 2).requires_grad
        with lib.inference_mode(mode=False):
            assert (x * 2).requires_grad

        @lib.inference_mode()
        def called():
            return (x * 2).requires_grad

        @lib.inference_mode
        def bare():
            return (x * 2).requires_grad

        assert called() is False and bare() is False and lib.is_grad_enabled()


def test_saving_a_module_is_refused_with_the_way_out(tmp_path):
    model = cr.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"state_dict\(\).*pickle"):
        cr.save(model, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    cr.save(model.state_dict(), tmp_path / "m.safetensors")
    assert set(cr.load(tmp_path / "m.safetensors")) == {"weight", "bias"}


def _names(lib):
    a = lib.ones(2, 3, requires_grad=True)
    b = lib.ones(3, 2, requires_grad=True)
    return [(a * 2).grad_fn.name(), (a + a).grad_fn.name(), (a @ b).grad_fn.name(),
            (-a).grad_fn.name(), a.exp().grad_fn.name(), (a - a).grad_fn.name(),
            a.sum().grad_fn.name(), a.mean().grad_fn.name(), a.tanh().grad_fn.name(),
            (a / 2).grad_fn.name(), a.relu().grad_fn.name()]


def test_grad_fn_names_match_torch_for_shared_primitives():
    assert _names(cr) == _names(torch)
    y = cr.ones(2, requires_grad=True) * 3
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert y.grad_fn.name == "mul"          # the short name errors use stays a string


def test_composed_ops_show_their_last_primitive():
    """Compositions have no node of their own: their grad_fn is the last primitive they ran
    (chainrule's documented rule, see autograd/function.py); torch has fused nodes there."""
    x = cr.ones(2, 3, requires_grad=True) * 2
    assert cr.nn.functional.mse_loss(x, cr.zeros(2, 3)).grad_fn.name() == "MeanBackward0"
    assert cr.nn.functional.gelu(x).grad_fn.name() == "MulBackward0"
    # primitives here, as in torch
    assert cr.sigmoid(x).grad_fn.name() == torch.sigmoid(torch.ones(1, requires_grad=True)) \
        .grad_fn.name() == "SigmoidBackward0"


def test_next_functions():
    a = cr.ones(2, requires_grad=True)
    y = (a * 2).exp()
    (fn, k), = y.grad_fn.next_functions
    assert fn is not None and fn.name() == "MulBackward0" and k == 0
    at = torch.ones(2, requires_grad=True)
    assert (at * 2).exp().grad_fn.next_functions[0][0].name() == "MulBackward0"


def test_size_is_a_tuple_with_numel_and_torch_style_repr():
    t, c = torch.ones(2, 3), cr.ones(2, 3)
    assert isinstance(c.shape, cr.Size) and isinstance(c.size(), tuple)
    assert c.shape == t.shape == (2, 3) and c.size() == t.size()
    assert repr(c.shape) == repr(t.shape).replace("torch", "chainrule") == "chainrule.Size([2, 3])"
    assert str(c.size()) == "chainrule.Size([2, 3])"
    assert c.shape.numel() == t.shape.numel() == 6 and cr.Size([]).numel() == 1
    assert f"{c.shape}" == f"{t.shape}".replace("torch", "chainrule")   # as str(), as torch
    assert cr.zeros(c.shape).shape == (2, 3) and c.size(1) == 3 and hash(c.shape) == hash((2, 3))


def test_dtypes_print_as_torch_and_stand_for_numpy_dtypes():
    t, c = torch.ones(2), cr.ones(2)
    assert repr(c.dtype) == str(c.dtype) == repr(t.dtype).replace("torch", "chainrule")
    assert repr(cr.bool_) == "chainrule.bool" and repr(cr.long) == "chainrule.int64"
    assert c.dtype is cr.float32 and c.dtype == np.float32 and c.dtype == np.dtype("float32")
    assert np.dtype("float32") == c.dtype and hash(c.dtype) == hash(np.dtype("float32"))
    assert {np.dtype("float32"): "ok"}[c.dtype] == "ok" and c.dtype != cr.float64
    assert np.zeros(2, dtype=cr.float64).dtype == np.float64
    assert cr.float32.is_floating_point and not cr.int64.is_floating_point
    assert t.dtype.is_floating_point and cr.int64.itemsize == torch.int64.itemsize == 8
    assert np.finfo(cr.float32).eps == np.finfo(np.float32).eps
    assert cr.tensor([1, 2]).dtype is cr.int64 and (c * 2).dtype is cr.float32
    assert f"{c.dtype}" == f"{t.dtype}".replace("torch", "chainrule")   # as str(), as torch
    assert cr.zeros(2, dtype=cr.float16).dtype == torch.zeros(2, dtype=torch.float16).numpy().dtype
