"""PyTorch's parameters, by PyTorch's names, with PyTorch's meaning (issue #18): factories'
``layout=``/``pin_memory=``, ``input=`` and friends by keyword, ``inplace=`` on activations,
``Tensor.backward(inputs=)``, ``Tensor.view(dtype)``, ``save``/``load`` arguments, optimizers'
implementation switches. Each idiom runs on chainrule and on torch and the results are compared."""
from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(18)
X = RNG.standard_normal((3, 4)).astype(np.float32)
POS = (np.abs(X) + 0.1).astype(np.float32)
UNIT = np.tanh(X).astype(np.float32)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


# -- factories ------------------------------------------------------------------------------
FACTORIES = {
    "zeros": lambda m, **k: m.zeros(2, 3, **k),
    "ones": lambda m, **k: m.ones(2, 3, **k),
    "empty": lambda m, **k: m.zeros_like(m.empty(2, 3, **k)),
    "full": lambda m, **k: m.full((2, 3), 1.5, **k),
    "arange": lambda m, **k: m.arange(0, 6, 2, **k),
    "linspace": lambda m, **k: m.linspace(0, 1, 5, **k),
    "eye": lambda m, **k: m.eye(3, **k),
    "rand": lambda m, **k: m.rand(2, 3, **k).shape,
    "randn": lambda m, **k: m.randn(2, 3, **k).shape,
    "randint": lambda m, **k: m.randint(0, 5, (2, 3), **k).shape,
    "randperm": lambda m, **k: m.randperm(5, **k).sort().values,
    "zeros_like": lambda m, **k: m.zeros_like(m.ones(2, 2), **k),
    "ones_like": lambda m, **k: m.ones_like(m.ones(2, 2), **k),
    "full_like": lambda m, **k: m.full_like(m.ones(2, 2), 7.0, **k),
    "rand_like": lambda m, **k: m.rand_like(m.ones(2, 2), **k).shape,
    "randn_like": lambda m, **k: m.randn_like(m.ones(2, 2), **k).shape,
}
LIKE = {n for n in FACTORIES if n.endswith("_like")}


def _same(a, b):
    if isinstance(a, tuple):
        assert tuple(a) == tuple(b)
    else:
        np.testing.assert_array_equal(_np(a), _np(b))
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_take_layout_strided(name):
    make = FACTORIES[name]
    _same(make(cr, layout=cr.strided), make(torch, layout=torch.strided))
    assert repr(cr.strided) == "chainrule.strided" and cr.zeros(1).layout is cr.strided


@pytest.mark.parametrize("name", ["zeros", "arange", "eye", "zeros_like", "randn"])
def test_a_layout_that_is_not_a_layout_is_a_type_error_as_torch(name):
    with pytest.raises(TypeError):
        FACTORIES[name](torch, layout=3)
    with pytest.raises(TypeError, match="layout"):
        FACTORIES[name](cr, layout=3)


def test_a_sparse_layout_is_refused_clearly():
    with pytest.raises(ValueError, match="dense"):
        cr.zeros(2, layout=cr.layout("sparse_coo"))


@pytest.mark.parametrize("name", sorted(set(FACTORIES) - LIKE) + ["tensor"])
def test_pin_memory_true_without_an_accelerator_fails_as_torchs_cpu_build(name):
    if cr.cuda.is_available():
        pytest.skip("this machine has CUDA: pinning works")
    make = (lambda m, **k: m.tensor([1.0], **k)) if name == "tensor" else FACTORIES[name]
    _same(make(cr, pin_memory=False), make(torch, pin_memory=False))
    with pytest.raises(RuntimeError, match="pin_memory=True requires") as ours:
        make(cr, pin_memory=True)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError) as theirs:
            make(torch, pin_memory=True)
        assert str(theirs.value) in str(ours.value)


# -- torch's parameter names, by keyword ------------------------------------------------------
KEYWORD_CALLS = {
    "sigmoid": (lambda m, x: m.sigmoid(input=x), X),
    "tanh": (lambda m, x: m.tanh(input=x), X),
    "exp": (lambda m, x: m.exp(input=x), X),
    "log": (lambda m, x: m.log(input=x), POS),
    "log1p": (lambda m, x: m.log1p(input=x), POS),
    "log10": (lambda m, x: m.log10(input=x), POS),
    "sqrt": (lambda m, x: m.sqrt(input=x), POS),
    "sin": (lambda m, x: m.sin(input=x), X),
    "cos": (lambda m, x: m.cos(input=x), X),
    "sinh": (lambda m, x: m.sinh(input=x), X),
    "cosh": (lambda m, x: m.cosh(input=x), X),
    "erf": (lambda m, x: m.erf(input=x), X),
    "acos": (lambda m, x: m.acos(input=x), UNIT),
    "asin": (lambda m, x: m.arcsin(input=x), UNIT),
    "atan": (lambda m, x: m.arctan(input=x), X),
    "floor": (lambda m, x: m.floor(input=x), X),
    "ceil": (lambda m, x: m.ceil(input=x), X),
    "maximum": (lambda m, x: m.maximum(input=x, other=m.zeros_like(x)), X),
    "minimum": (lambda m, x: m.minimum(input=x, other=m.zeros_like(x)), X),
    "max_other": (lambda m, x: m.max(x, other=m.zeros_like(x)), X),
    "min_other": (lambda m, x: m.min(x, other=m.zeros_like(x)), X),
    "where": (lambda m, x: m.where(condition=x > 0, input=x, other=x * 2), X),
    "permute": (lambda m, x: m.permute(x, dims=(1, 0)), X),
    "reshape": (lambda m, x: m.reshape(x, shape=(2, 6)), X),
    "vdot": (lambda m, x: m.vdot(x[0], other=x[1]), X),
    "tile": (lambda m, x: x.tile(dims=(2, 1)), X),
    "F.relu": (lambda m, x: m.nn.functional.relu(input=x), X),
    "F.sigmoid": (lambda m, x: m.nn.functional.sigmoid(input=x), X),
    "F.tanh": (lambda m, x: m.nn.functional.tanh(input=x), X),
}


@pytest.mark.parametrize("name", list(KEYWORD_CALLS))
def test_torch_parameter_names_work_by_keyword(name):
    call, data = KEYWORD_CALLS[name]
    ours, theirs = call(cr, cr.tensor(data)), call(torch, torch.tensor(data))
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-6, atol=1e-7)


def test_renamed_functions_still_work_positionally_and_differentiate():
    x = cr.tensor(X.astype(np.float64), requires_grad=True)
    tx = torch.tensor(X.astype(np.float64), requires_grad=True)
    for m, v in ((cr, x), (torch, tx)):
        (m.sigmoid(v) * m.where(v > 0, v, m.exp(v)) + m.maximum(v, m.tanh(v))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_setters_take_torchs_names():
    cr.set_rng_state(new_state=cr.get_rng_state())
    cr.set_default_device(device=None)
    assert cr.get_default_device() == cr.device("cpu")
    assert cr.utils.data.default_collate(batch=[1, 2]).tolist() == [1, 2]


# -- inplace= -----------------------------------------------------------------------------
ACTS = {
    "relu": lambda F, x, **k: F.relu(x, **k),
    "leaky_relu": lambda F, x, **k: F.leaky_relu(x, 0.2, **k),
    "elu": lambda F, x, **k: F.elu(x, 0.7, **k),
    "silu": lambda F, x, **k: F.silu(x, **k),
    "hardswish": lambda F, x, **k: F.hardswish(x, **k),
}
MODULES = {"relu": lambda nn: nn.ReLU(inplace=True),
           "leaky_relu": lambda nn: nn.LeakyReLU(0.2, inplace=True),
           "elu": lambda nn: nn.ELU(0.7, inplace=True),
           "silu": lambda nn: nn.SiLU(inplace=True),
           "hardswish": lambda nn: nn.Hardswish(inplace=True)}
DATA = np.array([[-4.0, -1.5, -0.2, 0.0], [0.3, 1.0, 2.5, 4.0]])


@pytest.mark.parametrize("name", list(ACTS))
def test_inplace_activation_writes_into_its_input_and_backpropagates_as_torch(name):
    results = []
    for m in (cr, torch):
        w = m.tensor(DATA, requires_grad=True)
        h = w * 1.5                       # a non-leaf, as in a network
        alias = h.detach() if m is torch else None
        y = ACTS[name](m.nn.functional, h, inplace=True)
        assert y is h
        (y * y).sum().backward()
        results.append((_np(h), _np(w.grad)))
        if alias is not None:             # torch's detach shares storage: it saw the write
            np.testing.assert_array_equal(_np(alias), _np(h))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(ACTS))
def test_inplace_module_and_plain_tensors(name):
    for m in (cr, torch):
        x = m.tensor(DATA)
        expected = _np(ACTS[name](m.nn.functional, m.tensor(DATA)))
        assert MODULES[name](m.nn)(x) is x
        np.testing.assert_allclose(_np(x), expected, rtol=1e-12)
        x = m.tensor(DATA)
        assert ACTS[name](m.nn.functional, x, inplace=False) is not x
        np.testing.assert_array_equal(_np(x), DATA)


@pytest.mark.parametrize("name", list(ACTS))
def test_inplace_on_a_leaf_that_requires_grad_is_refused_as_torch(name):
    with pytest.raises(RuntimeError):
        ACTS[name](torch.nn.functional, torch.tensor(DATA, requires_grad=True), inplace=True)
    with pytest.raises(RuntimeError, match="leaf"):
        ACTS[name](cr.nn.functional, cr.tensor(DATA, requires_grad=True), inplace=True)


def test_dropout_inplace_returns_its_input_as_torch():
    for m in (cr, torch):
        x = m.ones(50)
        y = m.nn.functional.dropout(x, 0.5, training=True, inplace=True)
        assert y is x and set(np.unique(_np(x))) <= {0.0, 2.0}
        x = m.ones(50)
        assert m.nn.Dropout(0.5, inplace=True)(x) is x


# -- backward(inputs=) ------------------------------------------------------------------------
def _graph(m):
    a = m.tensor([1.0, -2.0, 3.0], dtype=m.float64, requires_grad=True)
    b = m.tensor([0.5, 4.0, -1.0], dtype=m.float64, requires_grad=True)
    h = a * b
    h.retain_grad() if m is torch else None
    return a, b, h, (h * h + a).sum()


@pytest.mark.parametrize("which", ["a", "b", "ab", "h", "ah"])
def test_backward_inputs_accumulates_only_into_those_tensors(which):
    out = {}
    for m in (cr, torch):
        a, b, h, loss = _graph(m)
        named = {"a": a, "b": b, "h": h}
        inputs = [named[c] for c in which]
        loss.backward(inputs=inputs if len(inputs) > 1 else inputs[0], retain_graph=True)
        loss.backward(inputs=inputs)                 # twice: accumulated
        out[m] = {k: None if (v.grad is None or (k == "h" and k not in which)) else _np(v.grad)
                  for k, v in named.items()}
    for k in "abh":
        if k in which:
            np.testing.assert_allclose(out[cr][k], out[torch][k], rtol=1e-12)
        else:
            assert out[cr][k] is None and (k == "h" or out[torch][k] is None), k


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_inputs_with_a_gradient_and_create_graph():
    grads = []
    for m in (cr, torch):
        a = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = a * a * a
        y.backward(m.tensor([1.0, 3.0], dtype=m.float64), inputs=[a], create_graph=True)
        g = a.grad
        a.grad = None
        g.sum().backward(inputs=[a])
        grads.append(_np(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_backward_inputs_refuses_bad_inputs_as_torch():
    for m in (cr, torch):
        a = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError):
            (a * 2).sum().backward(inputs=[])
        with pytest.raises(RuntimeError):
            (a * 2).sum().backward(inputs=[m.ones(2)])


# -- view(dtype) --------------------------------------------------------------------------------
VIEWS = [("float32", "int32", (2, 3)), ("float32", "uint8", (2, 3)), ("float64", "float32", (4,)),
         ("uint8", "float32", (3, 8)), ("int16", "int64", (2, 4)), ("float32", "float16", (2,)), ("float32", "int32", ()),
         ("int64", "float64", (5,)), ("bool", "uint8", (3,))]


@pytest.mark.parametrize("src,dst,shape", VIEWS)
def test_view_dtype_reinterprets_bytes_as_torch(src, dst, shape):
    data = (np.arange(int(np.prod(shape)) or 1, dtype=np.float64).reshape(shape) * 1.37 - 2)
    data = data.astype(src)
    ours = cr.tensor(data).view(getattr(cr, dst) if dst != "bool" else cr.bool)
    theirs = torch.tensor(data).view(getattr(torch, dst))
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("shape,dst", [((2, 3), "float64"), ((), "int16"), ((3,), "int64")])
def test_view_dtype_refusals_match_torch(shape, dst):
    with pytest.raises(RuntimeError):
        torch.zeros(shape).view(getattr(torch, dst))
    with pytest.raises(RuntimeError, match="view"):
        cr.zeros(shape).view(getattr(cr, dst))


def test_view_dtype_shares_storage_and_leaves_autograd():
    x = cr.zeros(3)
    bits = x.view(cr.int32)
    bits[0] = 1065353216                       # the bits of 1.0f
    assert x.tolist() == [1.0, 0.0, 0.0]
    w = cr.ones(3, requires_grad=True)
    v = (w * 2).view(dtype=cr.float32)
    t = (torch.ones(3, requires_grad=True) * 2).view(dtype=torch.float32)
    assert v.requires_grad is t.requires_grad is False and v.grad_fn is None
    assert x.view(-1, 1).shape == (3, 1) and x.view(3).shape == (3,)


# -- save / load --------------------------------------------------------------------------------
def test_save_and_load_take_file_objects_and_torchs_arguments(tmp_path):
    state = {"w": cr.tensor([1.0, 2.0]), "epoch": 3}
    buf = io.BytesIO()
    cr.save(state, buf, pickle_module=pickle, pickle_protocol=4,
            _use_new_zipfile_serialization=True)
    buf.seek(0)
    back = cr.load(buf, map_location="cpu", pickle_module=None, weights_only=True, mmap=None)
    assert back["epoch"] == 3 and back["w"].tolist() == [1.0, 2.0]
    path = tmp_path / "ck.safetensors"
    with open(path, "wb") as f:
        cr.save(state, f=f)
    with open(path, "rb") as f:
        assert cr.load(f=f, weights_only=False)["w"].tolist() == [1.0, 2.0]


def test_save_and_load_refuse_other_picklers_and_text_files(tmp_path):
    with pytest.raises(TypeError, match="safetensors"):
        cr.save({"a": cr.ones(1)}, tmp_path / "x", pickle_module=io)
    with pytest.raises(TypeError, match="safetensors"):
        cr.load(tmp_path / "x", pickle_module=io)
    with pytest.raises(TypeError, match="unpickler"):
        cr.load(tmp_path / "x", encoding="latin1")
    with open(tmp_path / "t", "w") as f, pytest.raises(TypeError, match="binary"):
        cr.save({"a": cr.ones(1)}, f)


# -- optimizers: foreach / fused / differentiable / capturable ----------------------------------
OPTIMIZERS = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.05), "AdamW": dict(lr=0.05),
              "RMSprop": dict(lr=0.01), "Adagrad": dict(lr=0.1), "Adadelta": dict(lr=1.0),
              "NAdam": dict(lr=0.05)}
FUSED = {"SGD", "Adam", "AdamW", "Adagrad"}


def _trajectory(m, name, kw, steps=5):
    p = m.tensor([1.0, -2.0, 0.5], dtype=m.float64, requires_grad=True)
    opt = getattr(m.optim, name)([p], **kw)
    for _ in range(steps):
        opt.zero_grad()
        ((p - 0.3) ** 2).sum().backward()
        opt.step()
    return _np(p), opt.param_groups[0]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("switch", ["foreach", "fused", "maximize"])
def test_optimizer_switches_give_torchs_steps(name, switch):
    if switch == "fused" and name not in FUSED:
        pytest.skip(f"torch's {name} has no fused=")
    kw = dict(OPTIMIZERS[name], **{switch: True})
    ours, group = _trajectory(cr, name, kw)
    theirs, tgroup = _trajectory(torch, name, kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    for key in ("foreach", "fused", "capturable", "differentiable", "maximize"):
        assert (key in group) == (key in tgroup), key
        if key in group and key != "fused":
            assert group[key] == tgroup[key], key


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_differentiable_and_capturable_are_refused_clearly(name):
    p = cr.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="differentiable"):
        getattr(cr.optim, name)([p], differentiable=True)
    if name not in ("SGD", "Adagrad"):
        with pytest.raises(NotImplementedError, match="capturable"):
            getattr(cr.optim, name)([p], capturable=True)


def test_rmsprop_takes_torchs_positional_order():
    for m in (cr, torch):
        opt = m.optim.RMSprop([m.ones(2, requires_grad=True)], 0.01, 0.9, 1e-8, 0, 0, False,
                              False, None, True)
        assert opt.param_groups[0]["maximize"] is True
