"""The device model on the CPU: chainrule.device against torch.device, .to / .cuda / .cpu,
device= on factories, Module moves, chainrule.cuda and chainrule.accelerator as PyTorch's CPU
build answers, the missing-CUDA error (CuPy missing, no GPU), mixed devices, load(map_location).

CUDA itself is simulated by a fake ``cupy`` (arrays that wrap NumPy ones and say they live on
``cuda:0``), so the moving code runs here without a GPU."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import devices

SPECS = ["cpu", "cuda", "cuda:0", "cuda:3", "cpu:0"]


# -- chainrule.device vs torch.device ---------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS)
def test_device_parses_prints_and_compares_as_torch(spec):
    d, t = cr.device(spec), torch.device(spec)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert (d == spec) == (t == spec) and (spec == d) == (spec == t)   # False: never a string
    for other in SPECS:
        assert (d == cr.device(other)) == (t == torch.device(other))
        assert (hash(d) == hash(cr.device(other))) == (d == cr.device(other))
    assert cr.device(d) == d and cr.device(d) is not d


def test_device_with_index_argument_and_int():
    assert cr.device("cuda", 2) == cr.device("cuda:2")
    assert repr(cr.device("cuda", 1)) == repr(torch.device("cuda", 1))
    assert cr.device(1) == cr.device("cuda:1")                    # a bare index: CUDA
    assert {cr.device("cpu"): 1}[cr.device("cpu")] == 1


@pytest.mark.parametrize("bad, words", [
    ("cpux", ["'cpux'"]), ("CPU", ["'CPU'"]), ("", ["''"]), ("cuda:-1", ["'cuda:-1'"]),
    ("cuda:x", ["'cuda:x'"]), ("mps", ["'mps'", "not supported"]), ("gpu", ["'gpu'", "unknown"]),
])
def test_bad_device_strings_name_the_value(bad, words):
    with pytest.raises(ValueError) as info:
        cr.device(bad)
    if bad != "mps":                           # torch has a backend for mps; chainrule has not
        with pytest.raises(RuntimeError):                             # torch refuses it too
            torch.device(bad)
    for w in words:
        assert w in str(info.value)


def test_bad_device_index():
    with pytest.raises(ValueError, match="negative"):
        cr.device("cuda", -1)
    with pytest.raises(ValueError, match="already has an index"):
        cr.device("cuda:1", 2)
    with pytest.raises(TypeError, match="3.5"):
        cr.device(3.5)


# -- Tensor.device, .to, .cpu, .numpy ------------------------------------------------------
def test_tensor_device_is_a_device():
    t = cr.ones(2)
    assert isinstance(t.device, cr.device) and t.device == cr.device("cpu")
    assert repr(t.device) == repr(torch.ones(2).device) and not t.is_cuda
    assert t.get_device() == torch.ones(2).get_device() == -1


def test_to_returns_self_when_nothing_changes_as_torch():
    t, tt = cr.ones(3), torch.ones(3)
    for args, kwargs in [(("cpu",), {}), ((cr.device("cpu"),), {}), ((cr.float32,), {}),
                         ((t,), {}), (("cpu", cr.float32), {}), ((), {"device": "cpu"}),
                         ((), {"dtype": cr.float32, "non_blocking": True})]:
        targs = tuple(tt if a is t else torch.float32 if a is cr.float32 else
                      torch.device("cpu") if isinstance(a, cr.device) else a for a in args)
        tkw = {k: torch.float32 if v is cr.float32 else v for k, v in kwargs.items()}
        assert (t.to(*args, **kwargs) is t) == (tt.to(*targs, **tkw) is tt) == True  # noqa: E712
    assert t.to("cpu", copy=True) is not t and tt.to("cpu", copy=True) is not tt
    np.testing.assert_array_equal(t.to("cpu", copy=True).numpy(), t.numpy())
    assert t.cpu() is t


def test_to_dtype_forms_and_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    for y in (x.to(cr.float64), x.to("cpu", cr.float64), x.to(dtype="float64"),
              x.to(cr.zeros(1, dtype=cr.float64)), x.to(device="cpu", dtype=cr.float64)):
        assert y.dtype == np.float64 and y.device == cr.device("cpu")
    (x.to("cpu", cr.float64) * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_to_bad_arguments():
    t = cr.ones(2)
    with pytest.raises(TypeError, match="unexpected keyword"):
        t.to("cpu", pin=True)
    with pytest.raises(TypeError, match="unexpected positional"):
        t.to("cpu", cr.float32, "x")
    with pytest.raises(ValueError, match="'cuda:x'"):
        t.to("cuda:x")


# -- factories -------------------------------------------------------------------------------
FACTORIES = {
    "tensor": lambda m, **kw: m.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda m, **kw: m.as_tensor(np.ones(2), **kw),
    "zeros": lambda m, **kw: m.zeros(2, 3, **kw), "ones": lambda m, **kw: m.ones(2, **kw),
    "empty": lambda m, **kw: m.empty(2, **kw), "full": lambda m, **kw: m.full((2,), 7.0, **kw),
    "eye": lambda m, **kw: m.eye(3, **kw), "arange": lambda m, **kw: m.arange(5, **kw),
    "linspace": lambda m, **kw: m.linspace(0, 1, 5, **kw),
    "rand": lambda m, **kw: m.rand(2, **kw), "randn": lambda m, **kw: m.randn(2, **kw),
    "randint": lambda m, **kw: m.randint(0, 5, (3,), **kw),
    "randperm": lambda m, **kw: m.randperm(4, **kw),
    "zeros_like": lambda m, **kw: m.zeros_like(m.ones(2), **kw),
    "ones_like": lambda m, **kw: m.ones_like(m.ones(2), **kw),
    "empty_like": lambda m, **kw: m.empty_like(m.ones(2), **kw),
    "full_like": lambda m, **kw: m.full_like(m.ones(2), 3.0, **kw),
    "rand_like": lambda m, **kw: m.rand_like(m.ones(2), **kw),
    "randn_like": lambda m, **kw: m.randn_like(m.ones(2), **kw),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factories_take_device(name, no_cupy):
    make = FACTORIES[name]
    for dev in ("cpu", cr.device("cpu")):
        t, tt = make(cr, device=dev), make(torch, device=str(dev))
        assert t.device == cr.device("cpu") and tuple(t.shape) == tuple(tt.shape)
        assert str(t.dtype).replace("chainrule.", "") == str(tt.dtype).replace("torch.", "")
    with pytest.raises(cr.CUDAUnavailableError, match="CuPy package is not installed"):
        make(cr, device="cuda")


# -- the missing-CUDA error ------------------------------------------------------------------
@pytest.fixture
def no_cupy(monkeypatch):
    """A machine without the CuPy package."""
    def missing():
        raise ModuleNotFoundError("No module named 'cupy'")
    monkeypatch.setattr(devices, "_import_cupy", missing)


@pytest.fixture
def no_gpu(monkeypatch):
    """CuPy installed, but the driver sees no GPU."""
    def count():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=count)))
    monkeypatch.setattr(devices, "_import_cupy", lambda: fake)


def _refusals():
    x = cr.ones(2, requires_grad=True)
    return {"Tensor.to": lambda: x.to("cuda"), "Tensor.cuda": lambda: x.cuda(),
            "zeros": lambda: cr.zeros(2, device="cuda:0"),
            "Module.to": lambda: cr.nn.Linear(2, 2).to("cuda"),
            "Module.cuda": lambda: cr.nn.Linear(2, 2).cuda(),
            "set_default_device": lambda: cr.set_default_device("cuda"),
            "cuda.synchronize": cr.cuda.synchronize,
            "cuda.current_device": cr.cuda.current_device,
            "cuda.reset_peak_memory_stats": cr.cuda.reset_peak_memory_stats}


@pytest.mark.parametrize("what", list(_refusals()))
def test_cuda_refused_when_cupy_is_missing(what, no_cupy):
    with pytest.raises(cr.CUDAUnavailableError) as info:
        _refusals()[what]()
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "CuPy package is not installed" in msg and "gpu-cuda12" in msg and "gpu-cuda13" in msg
    assert ">= 525" in msg and ">= 580" in msg
    assert cr.get_default_device() == cr.device("cpu")


@pytest.mark.parametrize("what", list(_refusals()))
def test_cuda_refused_when_no_gpu_is_visible(what, no_gpu):
    with pytest.raises(cr.CUDAUnavailableError) as info:
        _refusals()[what]()
    assert "no GPU is visible" in str(info.value) and "not installed" not in str(info.value)


def test_module_to_cuda_refused_leaves_the_module_on_the_cpu(no_cupy):
    m = cr.nn.Linear(2, 2)
    w = m.weight._data
    with pytest.raises(cr.CUDAUnavailableError):
        m.to("cuda", cr.float64)
    assert m.weight._data is w and m.weight.dtype == np.float32


def test_cuda_queries_never_raise(no_cupy):
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    cr.cuda.manual_seed(1)
    cr.cuda.manual_seed_all(1)                   # quietly nothing, as torch without CUDA


def test_cuda_queries_without_gpu(no_gpu):
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0


def test_accelerator_answers_as_torch_cpu_build(no_cupy):
    assert cr.accelerator.is_available() is torch.accelerator.is_available() is False
    assert cr.accelerator.current_accelerator() is torch.accelerator.current_accelerator()
    assert cr.accelerator.current_accelerator() is None
    assert cr.accelerator.device_count() == torch.accelerator.device_count() == 0


def test_this_machine_has_no_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the CPU-build answers are checked only without it")
    assert cr.cuda.is_available() is torch.cuda.is_available() is False


def _outcome(fn):
    try:
        return ("returns", fn())
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return ("raises", type(exc))


@pytest.mark.parametrize("name", ["empty_cache", "memory_allocated", "max_memory_allocated",
                                  "reset_peak_memory_stats", "synchronize", "device_count",
                                  "current_device", "is_available"])
def test_cuda_functions_answer_as_torchs_cpu_build(name, no_cupy):
    if torch.cuda.is_available():
        pytest.skip("torch here has CUDA: its CPU-build answers cannot be observed")
    ours, theirs = _outcome(getattr(cr.cuda, name)), _outcome(getattr(torch.cuda, name))
    assert ours[0] == theirs[0], (name, ours, theirs)
    if ours[0] == "returns":
        assert ours[1] == theirs[1] and type(ours[1]) is type(theirs[1])
    else:
        assert issubclass(ours[1], theirs[1]) and issubclass(ours[1], cr.CUDAUnavailableError)


# -- a fake GPU: the moving code, identity, gradients -----------------------------------------
class _FakeDeviceArray:
    """A host array that claims to live on cuda:0 (what a CuPy array looks like to chainrule)."""

    def __init__(self, host):
        self.host = np.asarray(host)
        self.device = types.SimpleNamespace(id=0)

    shape = property(lambda self: self.host.shape)
    dtype = property(lambda self: self.host.dtype)
    ndim = property(lambda self: self.host.ndim)

    def get(self):
        return self.host.copy()

    def astype(self, dtype, copy=True):
        return _FakeDeviceArray(self.host.astype(dtype))

    def copy(self):
        return _FakeDeviceArray(self.host.copy())

    def __setitem__(self, key, value):
        self.host[key] = value.host if isinstance(value, _FakeDeviceArray) else value


@pytest.fixture
def fake_gpu(monkeypatch):
    class _Device:
        def __init__(self, index):
            self.index = index

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    fake = types.ModuleType("cupy")
    fake.ndarray = _FakeDeviceArray
    fake.asarray = lambda a: a if isinstance(a, _FakeDeviceArray) else _FakeDeviceArray(a)
    fake.cuda = types.SimpleNamespace(Device=_Device,
                                      runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    rng = np.random.default_rng(0)          # the GPU's generator: draws made "on the device"
    state = types.SimpleNamespace(
        random_sample=lambda shape, dtype: _FakeDeviceArray(rng.random(shape, dtype=dtype)),
        standard_normal=lambda shape, dtype: _FakeDeviceArray(
            rng.standard_normal(shape, dtype=dtype)))
    fake.random = types.SimpleNamespace(seed=lambda s: None, get_random_state=lambda: state)
    monkeypatch.setattr(devices, "_import_cupy", lambda: fake)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    return fake


def test_move_to_fake_gpu_and_back_is_differentiable(fake_gpu):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert isinstance(y._data, _FakeDeviceArray) and y.device == cr.device("cuda:0")
    assert y.is_cuda and y.get_device() == 0 and y.to("cuda") is y and y.cuda() is y
    assert "device='cuda:0'" in repr(y)
    with pytest.raises(TypeError, match=r"cuda:0.*\.cpu\(\)"):
        y.numpy()
    g = y.grad_fn.backward(fake_gpu, _FakeDeviceArray(np.array([3.0, 4.0], np.float32)))
    assert isinstance(g, np.ndarray) and g.tolist() == [3.0, 4.0]   # back on x's device
    z = y.cpu()
    assert isinstance(z._data, np.ndarray) and z.tolist() == [1.0, 2.0]
    assert cr.zeros(2, device="cuda").device == cr.device("cuda:0")
    assert cr.zeros_like(y).device == cr.device("cuda:0")            # *_like follow the input
    with pytest.raises(cr.CUDAUnavailableError, match="no GPU cuda:1"):
        x.to("cuda:1")


def test_mixed_devices_name_the_op_and_both_devices(fake_gpu):
    a = cr.ones(2).to("cuda")
    with pytest.raises(devices.DeviceMismatchError) as info:
        a + cr.ones(2)
    msg = str(info.value)
    assert msg.startswith("add:") and "cuda:0" in msg and "cpu" in msg
    with pytest.raises(RuntimeError, match=r"^where:.*(cuda:0 and cpu|cpu and cuda:0)"):
        cr.where(cr.ones(2) > 0, a, cr.ones(2))


def test_mixed_device_error_builder():
    assert devices.mixed_device_error("mul", [np.ones(2), np.ones(3), 2.0]) is None
    err = devices.mixed_device_error("mul", [np.ones(2), _FakeDeviceArray(np.ones(2))])
    assert "mul" in str(err) and "cpu and cuda:0" in str(err)


def test_module_moves_keep_parameter_identity_and_the_optimizer_works(fake_gpu):
    m = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.BatchNorm1d(2))
    params = list(m.parameters())
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    m(cr.randn(4, 3)).sum().backward()
    before = [p.detach().numpy().copy() for p in params]
    assert m.to("cpu") is m and list(m.parameters()) == params          # a no-op move
    m.cuda()
    assert all(p is q for p, q in zip(m.parameters(), params))
    assert all(isinstance(p._data, _FakeDeviceArray) for p in params)
    assert all(isinstance(p.grad._data, _FakeDeviceArray) for p in params)
    assert isinstance(m[1].running_mean._data, _FakeDeviceArray)
    sd = {k: v.cpu() for k, v in m.state_dict().items()}
    m.load_state_dict(sd)                                   # host arrays go onto the device
    assert isinstance(m[0].weight._data, _FakeDeviceArray)
    m.cpu()
    assert all(isinstance(p._data, np.ndarray) for p in params)
    np.testing.assert_array_equal(params[0].detach().numpy(), before[0])
    opt.step()                                              # built before the moves
    assert not np.array_equal(params[0].detach().numpy(), before[0])


def test_save_goes_through_the_host_and_map_location(fake_gpu, tmp_path):
    path = tmp_path / "m.safetensors"
    cr.save({"w": cr.ones(2).to("cuda"), "n": 3}, path)
    back = cr.load(path)
    assert isinstance(back["w"]._data, np.ndarray) and back["n"] == 3
    on_gpu = cr.load(path, map_location="cuda")
    assert on_gpu["w"].device == cr.device("cuda:0")
    assert cr.load(path, map_location={"cpu": "cuda:0"})["w"].is_cuda


# -- module moves on the CPU, default device, load ------------------------------------------
def test_module_to_cpu_and_dtype_keep_identity():
    m = cr.nn.Linear(2, 2)
    w = m.weight
    assert m.to("cpu") is m and m.cpu() is m and m.weight is w
    m.to("cpu", dtype="float64")
    assert m.weight is w and w.dtype == np.float64
    m.to(cr.zeros(1))                                       # a tensor: its dtype and device
    assert w.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(cr.int64)


def test_set_default_device(no_cupy):
    assert repr(cr.get_default_device()) == repr(torch.get_default_device())
    assert cr.get_default_device() == cr.device("cpu")
    cr.set_default_device("cpu")
    try:
        assert cr.zeros(1).device == cr.device("cpu")
    finally:
        cr.set_default_device(None)
    with pytest.raises(cr.CUDAUnavailableError):
        cr.set_default_device("cuda")
    assert cr.get_default_device() == cr.device("cpu")


def test_default_device_is_used_by_factories(fake_gpu):
    cr.set_default_device("cuda")
    try:
        assert cr.zeros(2).is_cuda and cr.randn(2).is_cuda and cr.tensor([1.0]).is_cuda
        assert not cr.zeros(2, device="cpu").is_cuda
    finally:
        cr.set_default_device("cpu")
    assert not cr.zeros(2).is_cuda


@pytest.mark.parametrize("map_location", [None, "cpu", cr.device("cpu"), {"cuda:0": "cpu"},
                                          lambda t, loc: None, lambda t, loc: "cpu"])
@pytest.mark.parametrize("weights_only", [True, False, None])
def test_load_accepts_torch_forms(tmp_path, map_location, weights_only):
    path = tmp_path / "c.safetensors"
    cr.save({"a": cr.arange(3), "b": [cr.ones(1), "x"]}, path)
    back = cr.load(path, map_location=map_location, weights_only=weights_only)
    assert back["a"].tolist() == [0, 1, 2] and back["b"][1] == "x"
    assert back["a"].device == cr.device("cpu")


def test_load_refuses_bad_forms(tmp_path, no_cupy):
    path = tmp_path / "c.safetensors"
    cr.save({"a": cr.ones(1)}, path)
    with pytest.raises(TypeError, match="map_location='gpu'"):
        cr.load(path, map_location="gpu")
    with pytest.raises(TypeError, match="weights_only"):
        cr.load(path, weights_only="yes")
    with pytest.raises(cr.CUDAUnavailableError):
        cr.load(path, map_location="cuda")


def test_explicit_cpu_device_moves_a_cuda_tensor(fake_gpu):
    x = cr.tensor([1.0, 2.0]).cuda()
    for y in (cr.tensor(x, device="cpu"), cr.as_tensor(x, device="cpu"),
              cr.tensor(x, device=cr.device("cpu"))):
        assert isinstance(y._data, np.ndarray) and y.device == cr.device("cpu")
        assert y.tolist() == [1.0, 2.0]
    assert isinstance(cr.tensor(x)._data, _FakeDeviceArray)      # no device=: stays (as torch)
    assert x.to(None, cr.float64).dtype == np.float64 and x.to(None).device == x.device


def test_device_context_manager_on_a_fake_gpu(fake_gpu):
    with cr.device("cuda"):
        assert isinstance(cr.zeros(2)._data, _FakeDeviceArray)
        assert cr.get_default_device() == cr.device("cuda")
    assert cr.get_default_device() == cr.device("cpu") and isinstance(cr.zeros(2)._data, np.ndarray)


def test_lazy_module_moved_to_the_gpu_materializes_there(fake_gpu):
    m = cr.nn.LazyLinear(3)
    assert m.cuda() is m and m.weight.device == cr.device("cuda")
    m.weight.materialize((3, 4))                  # what the first forward does, before init
    assert isinstance(m.weight._data, _FakeDeviceArray) and m.weight.shape == (3, 4)
    m2 = cr.nn.LazyLinear(3).cuda().cpu()
    m2(cr.ones(2, 4))
    assert isinstance(m2.weight._data, np.ndarray)


@pytest.mark.parametrize("make", [
    lambda **kw: cr.nn.Linear(3, 2, **kw), lambda **kw: cr.nn.Conv2d(2, 3, 3, **kw),
    lambda **kw: cr.nn.BatchNorm1d(3, **kw), lambda **kw: cr.nn.LayerNorm(4, **kw),
    lambda **kw: cr.nn.Embedding(5, 2, **kw), lambda **kw: cr.nn.GroupNorm(2, 4, **kw),
    lambda **kw: cr.nn.ConvTranspose1d(2, 3, 3, **kw)])
def test_layers_are_created_on_the_given_or_default_device(make, fake_gpu):
    for m in (make(device="cuda"), make(device=cr.device("cuda:0"))):
        assert all(isinstance(t._data, _FakeDeviceArray) for t in m.state_dict().values())
    cr.set_default_device("cuda")
    try:
        m = make()
        assert all(isinstance(t._data, _FakeDeviceArray) for t in m.state_dict().values())
        assert all(isinstance(t._data, np.ndarray) for t in make(device="cpu").state_dict().values())
    finally:
        cr.set_default_device(None)


def test_lazy_layer_device_is_recorded_on_the_placeholders(fake_gpu):
    m = cr.nn.LazyLinear(2, device="cuda")
    assert m.weight.device == cr.device("cuda") and m.bias.device == cr.device("cuda")
    assert cr.nn.LazyBatchNorm1d(device="cpu").weight.device == cr.device("cpu")
