"""Fixes from the review of the #18 / device-model work: each idiom runs on torch and chainrule
and the two agree (values, dtypes, or the type of the error torch raises)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _outcome(lib, fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # torch's deprecation of scatter(reduce=)
            out = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the error type is compared
        return "raises", exc
    return "returns", out


def _same(fn, check_type=True):
    """Run ``fn(lib)`` on both; both raise (chainrule's error an instance of torch's type) or
    both return equal values and dtypes."""
    (kt, t), (kc, c) = _outcome(torch, fn), _outcome(cr, fn)
    assert kt == kc, (t, c)
    if kt == "raises":
        if check_type:
            assert isinstance(c, type(t)), (type(c), type(t), c)
        return
    if isinstance(t, torch.Tensor):
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(c.numpy().astype(float), t.numpy().astype(float), rtol=1e-6)
    else:
        assert c == t


# -- item 4: .to(None, dtype), .to('float64') -------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib: lib.ones(2).to(None, lib.float64),
    lambda lib: lib.ones(2).to(None),
    lambda lib: lib.ones(2).to("cpu", None),
    lambda lib: lib.ones(2).to("float64"),
    lambda lib: lib.nn.Linear(2, 2).to("float64") and 1,
], ids=["none-dtype", "none", "cpu-none", "dtype-string", "module-dtype-string"])
def test_to_argument_forms_as_torch(fn):
    _same(fn)


# -- item 5: bmm refuses what torch refuses -------------------------------------------------
@pytest.mark.parametrize("a, b", [((2, 3, 4), (1, 4, 5)), ((1, 3, 4), (2, 4, 5)),
                                  ((2, 3, 4), (2, 3, 5)), ((2, 3, 4), (2, 4, 5))])
def test_bmm_needs_equal_batch_sizes(a, b):
    x, y = np.random.default_rng(0).standard_normal(a), np.random.default_rng(1).standard_normal(b)
    _same(lambda lib: lib.bmm(lib.tensor(x), lib.tensor(y)))
    _same(lambda lib: lib.tensor(x).bmm(lib.tensor(y)))


def test_bmm_needs_one_dtype():
    _same(lambda lib: lib.bmm(lib.ones(2, 3, 4), lib.ones(2, 4, 5, dtype=lib.float64)))


# -- item 9: what torch refuses -------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0, 0]), lib.ones(2)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0]), lib.ones(1)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0]), lib.tensor(2.0)),
    lambda lib: lib.zeros(()).index_add(0, lib.tensor([0, 0]), lib.tensor(2.0)),
    lambda lib: lib.unique(lib.zeros((0, 2)), dim=1),
    lambda lib: lib.unique(lib.zeros((2, 0)), dim=0),
    lambda lib: lib.unique(lib.zeros((0, 0)), dim=0),
    lambda lib: lib.unique(lib.zeros((0, 2)), dim=0),
    lambda lib: lib.softmax(lib.arange(3), 0),
    lambda lib: lib.log_softmax(lib.arange(3), 0),
    lambda lib: lib.nn.functional.softmax(lib.ones(3, dtype=lib.bool), 0),
    lambda lib: lib.softmax(lib.arange(3), 0, dtype=lib.float32),
    lambda lib: lib.dot(lib.arange(3), lib.arange(3)),
    lambda lib: lib.dot(lib.ones(3, dtype=lib.bool), lib.ones(3, dtype=lib.bool)),
    lambda lib: lib.addmm(lib.arange(4).reshape(2, 2), lib.arange(4).reshape(2, 2),
                          lib.arange(4).reshape(2, 2), beta=0.5),
    lambda lib: lib.addmm(lib.arange(4).reshape(2, 2), lib.arange(4).reshape(2, 2),
                          lib.arange(4).reshape(2, 2), alpha=0.5, beta=2),
    lambda lib: lib.addmm(*(lib.ones(2, 2, dtype=lib.bool),) * 3),
], ids=lambda f: None)
def test_refused_or_kept_as_torch(fn):
    _same(fn)


def test_unique_dim_errors_are_runtime_errors():
    with pytest.raises(RuntimeError, match=r"unique.*\(0, 2\)"):
        cr.unique(cr.zeros((0, 2)), dim=1)
    with pytest.raises(NotImplementedError, match="softmax.*int64"):
        cr.softmax(cr.arange(3), 0)


# -- item 12: get_default_dtype -------------------------------------------------------------
def test_get_default_dtype_is_the_chainrule_dtype_and_equals_numpys():
    d = cr.get_default_dtype()
    assert d is cr.float32 and repr(d) == repr(torch.get_default_dtype()).replace("torch", "chainrule")
    assert d == np.float32 and d == np.dtype("float32") and np.zeros(1, d).dtype == np.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.get_default_dtype() is cr.float64 and cr.get_default_dtype() == np.float64
        assert cr.ones(1).dtype == cr.get_default_dtype()
    finally:
        cr.set_default_dtype(cr.float32)


# -- item 7: the in-place companions and scatter's reduce= ------------------------------------
_IDX = np.array([[0, 1, 0], [2, 0, 2]])


def _pair(lib, a):
    return lib.tensor(np.array(a, dtype=np.float64))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(4, 3).scatter_(1, lib.tensor([0, 2, 1, 2]).unsqueeze(1), 1),
    lambda lib: lib.zeros(4, 3).scatter_(1, lib.tensor([[0], [2], [1], [2]]), 2.5),
    lambda lib: lib.zeros(2, 3).scatter_(1, lib.tensor(_IDX), lib.arange(6.0).reshape(2, 3)),
    lambda lib: lib.zeros(3, 3).scatter_(0, lib.tensor(_IDX), lib.arange(9.0).reshape(3, 3)),
    lambda lib: lib.ones(2, 3).scatter_add(1, lib.tensor(_IDX), lib.arange(6.0).reshape(2, 3)),
    lambda lib: lib.ones(2, 3).scatter_add_(1, lib.tensor(_IDX[:, :2]), lib.ones(2, 3)),
    lambda lib: lib.scatter_add(lib.ones(3, 3), 0, lib.tensor(_IDX), lib.ones(2, 3)),
    lambda lib: lib.ones(2, 3).scatter(1, lib.tensor(_IDX), 2.0, reduce="add"),
    lambda lib: lib.ones(2, 3).scatter(1, lib.tensor(_IDX), 2.0, reduce="multiply"),
    lambda lib: lib.ones(2, 3).scatter(1, lib.tensor(_IDX), lib.arange(1.0, 7.0).reshape(2, 3),
                                       reduce="multiply"),
    lambda lib: lib.scatter(lib.ones(2, 3), 1, lib.tensor(_IDX), lib.ones(2, 3), reduce="add"),
    lambda lib: lib.ones(2, 3).scatter_(1, lib.tensor(_IDX), 3.0, reduce="add"),
    lambda lib: lib.ones(2, 3).scatter(1, lib.tensor(_IDX), 2.0, reduce="sum"),
    lambda lib: lib.zeros(3, 2).index_add_(0, lib.tensor([0, 2, 0]), lib.ones(3, 2)),
    lambda lib: lib.zeros(3, 2).index_add_(1, lib.tensor([1, 1]), lib.ones(3, 2), alpha=2),
    lambda lib: lib.ones(3, 4).tril_(),
    lambda lib: lib.ones(3, 4).triu_(1),
    lambda lib: lib.ones(2, 3, 3).tril_(-1),
], ids=lambda f: None)
def test_inplace_companions_and_reduce_as_torch(fn):
    _same(fn)


def test_inplace_companions_return_self_and_bump_the_version():
    for name, args in [("scatter_", (1, cr.tensor([[0], [1]]), 1.0)),
                       ("scatter_add_", (1, cr.tensor([[0], [1]]), cr.ones(2, 1))),
                       ("index_add_", (0, cr.tensor([1]), cr.ones(1, 3))),
                       ("tril_", ()), ("triu_", ())]:
        x = cr.zeros(2, 3)
        v = x._version
        assert getattr(x, name)(*args) is x and x._version != v, name


def test_scatter_add_and_recorded_inplace_gradients_match_torch():
    src = np.random.default_rng(0).standard_normal((2, 3))
    grads = {}
    for lib in (cr, torch):
        s = lib.tensor(src, requires_grad=True)
        base = lib.tensor(np.ones((2, 3)), requires_grad=True)
        y = (base * 2).scatter_add_(1, lib.tensor(_IDX), s)
        z = (base * 3).tril_().scatter_(1, lib.tensor(_IDX[:, :1]), s[:, :1] * 1)
        ((y * y).sum() + (z * z).sum()).backward()
        grads[lib.__name__] = (s.grad.numpy(), base.grad.numpy())
    for a, b in zip(grads["chainrule"], grads["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_scatter_reduce_has_no_derivative_as_torch():
    for lib in (cr, torch):
        x = lib.ones(2, 3, requires_grad=True)
        y = (x * 1).scatter(1, lib.tensor(_IDX), 2.0, reduce="add")
        with pytest.raises(RuntimeError, match="(?i)derivative"):
            y.sum().backward()


@pytest.mark.parametrize("shape", [(2, 3), (3,), (1, 2, 3, 4), (2, 1, 3, 3), (2, 3, 1, 1)])
def test_is_contiguous_as_torch(shape):
    a = np.ones(shape)
    for fmt in (None, "contiguous_format", "channels_last"):
        kw = {} if fmt is None else {"memory_format": getattr(cr, fmt)}
        tkw = {} if fmt is None else {"memory_format": getattr(torch, fmt)}
        assert cr.tensor(a).is_contiguous(**kw) == torch.tensor(a).is_contiguous(**tkw)
    if len(shape) == 2:
        assert cr.tensor(a).t().is_contiguous() == torch.tensor(a).t().is_contiguous()


# -- item 7: backends and the device context manager -----------------------------------------
def test_backends_switches_exist_settable_with_torchs_defaults():
    assert cr.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert cr.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    for name in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(cr.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert cr.backends.cudnn.is_available() is False
    import chainrule.backends.cudnn as cudnn
    old = cudnn.benchmark, cudnn.deterministic, cr.backends.cuda.matmul.allow_tf32
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        cr.backends.cuda.matmul.allow_tf32 = True
        assert cr.backends.cudnn.benchmark and cr.backends.cudnn.deterministic
        np.testing.assert_array_equal((cr.ones(2, 3) @ cr.ones(3, 2)).numpy(), np.full((2, 2), 3.0))
    finally:
        cudnn.benchmark, cudnn.deterministic, cr.backends.cuda.matmul.allow_tf32 = old


def test_device_as_a_context_manager_sets_the_default_inside_the_block():
    for lib in (cr, torch):
        with lib.device("cpu") as d:
            assert lib.zeros(1).device == lib.device("cpu") and d == lib.device("cpu")
            assert lib.get_default_device() == lib.device("cpu")
        assert lib.get_default_device() == lib.device("cpu")


def test_device_context_refuses_cuda_without_it_and_leaves_the_default(monkeypatch):
    from chainrule import devices

    def no_cupy():
        raise ModuleNotFoundError("No module named 'cupy'")
    monkeypatch.setattr(devices, "_import_cupy", no_cupy)
    with pytest.raises(cr.CUDAUnavailableError):
        with cr.device("cuda"):
            pass
    assert cr.get_default_device() == cr.device("cpu") and devices._entered == []


# -- item 1: moving a lazy module before its first forward ---------------------------------
@pytest.mark.parametrize("move", [
    lambda lib, m: m.to("cpu"), lambda lib, m: m.cpu(), lambda lib, m: m.to("cpu", lib.float64),
    lambda lib, m: m.to(lib.float64), lambda lib, m: m.double().cpu(),
    lambda lib, m: m.to(device="cpu", dtype=lib.float64), lambda lib, m: m.half().float(),
], ids=["to-cpu", "cpu", "to-cpu-f64", "to-f64", "double-cpu", "kw", "half-float"])
@pytest.mark.parametrize("layer", ["LazyLinear", "LazyConv1d", "LazyBatchNorm1d"])
def test_lazy_module_moved_before_its_first_forward_as_torch(move, layer):
    out = {}
    for lib in (cr, torch):
        nn = lib.nn
        make = {"LazyLinear": lambda: nn.LazyLinear(3), "LazyConv1d": lambda: nn.LazyConv1d(2, 3),
                "LazyBatchNorm1d": lambda: nn.LazyBatchNorm1d()}[layer]
        m = nn.Sequential(make())
        assert move(lib, m) is m
        dtype = next(iter(m.parameters())).dtype
        x = lib.ones((2, 4, 5) if layer == "LazyConv1d" else (2, 4), dtype=dtype)
        y = m(x)
        out[lib.__name__] = (str(y.dtype).split(".")[-1], tuple(y.shape),
                             [str(p.dtype).split(".")[-1] for p in m.parameters()],
                             [str(b.dtype).split(".")[-1] for b in m.buffers()])
        assert y.device == lib.device("cpu")
    assert out["chainrule"] == out["torch"]


def test_lazy_module_cuda_without_cupy_still_refused(monkeypatch):
    from chainrule import devices

    def no_cupy():
        raise ModuleNotFoundError("No module named 'cupy'")
    monkeypatch.setattr(devices, "_import_cupy", no_cupy)
    with pytest.raises(cr.CUDAUnavailableError, match="CuPy package is not installed"):
        cr.nn.LazyLinear(3).cuda()


# -- item 2: device= on layers --------------------------------------------------------------
LAYERS = {
    "Linear": lambda nn, **kw: nn.Linear(3, 2, **kw),
    "Conv1d": lambda nn, **kw: nn.Conv1d(2, 3, 3, **kw),
    "Conv2d": lambda nn, **kw: nn.Conv2d(2, 3, 3, **kw),
    "ConvTranspose1d": lambda nn, **kw: nn.ConvTranspose1d(2, 3, 3, **kw),
    "ConvTranspose2d": lambda nn, **kw: nn.ConvTranspose2d(2, 3, 3, **kw),
    "BatchNorm1d": lambda nn, **kw: nn.BatchNorm1d(3, **kw),
    "BatchNorm2d": lambda nn, **kw: nn.BatchNorm2d(3, **kw),
    "LayerNorm": lambda nn, **kw: nn.LayerNorm(4, **kw),
    "GroupNorm": lambda nn, **kw: nn.GroupNorm(2, 4, **kw),
    "Embedding": lambda nn, **kw: nn.Embedding(5, 2, **kw),
    "PReLU": lambda nn, **kw: nn.PReLU(**kw),
    "LazyLinear": lambda nn, **kw: nn.LazyLinear(2, **kw),
    "LazyConv1d": lambda nn, **kw: nn.LazyConv1d(3, 3, **kw),
    "LazyConv2d": lambda nn, **kw: nn.LazyConv2d(3, 3, **kw),
    "LazyBatchNorm1d": lambda nn, **kw: nn.LazyBatchNorm1d(**kw),
    "LazyBatchNorm2d": lambda nn, **kw: nn.LazyBatchNorm2d(**kw),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("device", ["cpu", "device"])
def test_layers_take_device_as_torch(name, device):
    got = {}
    for lib in (cr, torch):
        dev = lib.device("cpu") if device == "device" else device
        m = LAYERS[name](lib.nn, device=dev, dtype=lib.float64)
        got[lib.__name__] = sorted((k, str(v.dtype).split(".")[-1], str(v.device))
                                   for k, v in m.state_dict().items()
                                   if not isinstance(v, lib.nn.parameter.UninitializedTensorMixin))
    assert got["chainrule"] == got["torch"]


def test_linear_device_is_positional_before_dtype_as_torch():
    for lib in (cr, torch):
        m = lib.nn.Linear(3, 2, True, "cpu", lib.float64)
        assert str(m.weight.dtype).endswith("float64") and m.weight.device == lib.device("cpu")


# -- item 6: PolynomialLR(total_iters=4.0) ---------------------------------------------------
@pytest.mark.parametrize("total_iters", [4.0, 4.5, 3])
def test_polynomial_lr_float_total_iters_as_torch(total_iters):
    seqs = {}
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        sched = lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=total_iters, power=2.0)
        seq = []
        for _ in range(8):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr()[0])
        seqs[lib.__name__] = seq
    np.testing.assert_allclose(seqs["chainrule"], seqs["torch"], rtol=1e-12, atol=1e-15)
