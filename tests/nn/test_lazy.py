"""Lazy modules infer their input size at the first forward as PyTorch's do: same shapes, same
forward once weights are copied, the same Parameter objects (so an optimizer built before the
first call trains them), state dicts with placeholders, and clear errors before materializing."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

from ._compare import to_cr_state, to_torch_state

warnings.filterwarnings("ignore", message="Lazy modules", category=UserWarning)

# (chainrule lazy layer, torch lazy layer, input shape, the eager class it becomes)
CASES = {
    "linear": (lambda: nn.LazyLinear(4), lambda: torch.nn.LazyLinear(4), (3, 5), nn.Linear),
    "linear_nobias_3d": (lambda: nn.LazyLinear(2, bias=False),
                         lambda: torch.nn.LazyLinear(2, bias=False), (2, 3, 6), nn.Linear),
    "conv1d": (lambda: nn.LazyConv1d(4, 3, stride=2, padding=1),
               lambda: torch.nn.LazyConv1d(4, 3, stride=2, padding=1), (2, 3, 9), nn.Conv1d),
    "conv2d_groups": (lambda: nn.LazyConv2d(6, (3, 2), groups=2, dilation=(1, 2), bias=False),
                      lambda: torch.nn.LazyConv2d(6, (3, 2), groups=2, dilation=(1, 2),
                                                  bias=False), (2, 4, 7, 8), nn.Conv2d),
    "batchnorm1d": (lambda: nn.LazyBatchNorm1d(momentum=0.3),
                    lambda: torch.nn.LazyBatchNorm1d(momentum=0.3), (6, 5), nn.BatchNorm1d),
    "batchnorm1d_3d": (lambda: nn.LazyBatchNorm1d(affine=False),
                       lambda: torch.nn.LazyBatchNorm1d(affine=False), (4, 3, 5),
                       nn.BatchNorm1d),
    "batchnorm2d": (lambda: nn.LazyBatchNorm2d(eps=1e-3), lambda: torch.nn.LazyBatchNorm2d(eps=1e-3),
                    (3, 2, 4, 4), nn.BatchNorm2d),
    "batchnorm2d_no_stats": (lambda: nn.LazyBatchNorm2d(track_running_stats=False),
                             lambda: torch.nn.LazyBatchNorm2d(track_running_stats=False),
                             (3, 2, 4, 4), nn.BatchNorm2d),
}


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _uninitialized_keys(module) -> set:
    return {k for k, v in module.state_dict().items() if nn.parameter.is_lazy(v)}


@pytest.mark.parametrize("name", list(CASES))
def test_shapes_state_and_forward_match_torch(name):
    make, tmake, shape, eager = CASES[name]
    m, tm = make(), tmake()
    assert m.has_uninitialized_params() and tm.has_uninitialized_params()
    assert list(m.state_dict()) == list(tm.state_dict())
    torch_lazy = {k for k, v in tm.state_dict().items()
                  if isinstance(v, torch.nn.parameter.UninitializedTensorMixin)}
    assert _uninitialized_keys(m) == torch_lazy and torch_lazy
    x = _input(shape)
    m(cr.tensor(x))
    tm(torch.tensor(x))
    assert type(m) is eager and type(tm).__name__ == eager.__name__
    assert not m._forward_pre_hooks                       # the fast path is back
    for (k, v), (tk, tv) in zip(m.state_dict().items(), tm.state_dict().items()):
        assert k == tk and v.shape == tuple(tv.shape) and v.dtype == tv.numpy().dtype, k
    for p in m.parameters():
        assert type(p) is nn.Parameter
    m.load_state_dict(to_cr_state(tm.state_dict()))
    for seed in (1, 2):                                   # the eager forward from now on
        x = _input(shape, seed)
        np.testing.assert_allclose(m(cr.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                                   rtol=2e-5, atol=2e-6)
    for (k, v), tv in zip(m.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=2e-5, atol=2e-6, err_msg=k)
    assert repr(m) == repr(tm)


@pytest.mark.parametrize("make_lazy,make_eager,shape", [
    (lambda: nn.LazyLinear(4), lambda: nn.Linear(5, 4), (3, 5)),
    (lambda: nn.LazyConv1d(3, 2, bias=True), lambda: nn.Conv1d(2, 3, 2), (1, 2, 6)),
    (lambda: nn.LazyConv2d(4, 3, groups=2), lambda: nn.Conv2d(6, 4, 3, groups=2), (1, 6, 5, 5)),
    (lambda: nn.LazyBatchNorm1d(), lambda: nn.BatchNorm1d(5), (3, 5)),
])
def test_initialised_as_the_eager_layer_with_the_same_draws(make_lazy, make_eager, shape):
    x = cr.tensor(_input(shape))
    cr.manual_seed(7)
    lazy = make_lazy()
    lazy(x)
    after_lazy = cr.rand(3).numpy()                      # the generator moved by the same draws
    cr.manual_seed(7)
    eager = make_eager()
    after_eager = cr.rand(3).numpy()
    eager(x)                                             # the same batch-norm statistics too
    for (k, v), w in zip(lazy.state_dict().items(), eager.state_dict().values()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
    np.testing.assert_array_equal(after_lazy, after_eager)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_an_optimizer_built_before_the_first_forward_trains_it_like_torch(opt_name):
    # (batch norm first: after a biased layer it would zero that bias's gradient up to
    # rounding, which Adam's first step turns into ±lr of noise)
    model = nn.Sequential(nn.LazyBatchNorm1d(), nn.LazyLinear(6), nn.ReLU(), nn.LazyLinear(2))
    tmodel = torch.nn.Sequential(torch.nn.LazyBatchNorm1d(), torch.nn.LazyLinear(6),
                                 torch.nn.ReLU(), torch.nn.LazyLinear(2))
    torch.manual_seed(0)     # torch's draws give the weights both start from
    kw = {"lr": 0.05, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}
    opt = getattr(cr.optim, opt_name)(model.parameters(), **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    params = list(model.parameters())
    x, target = _input((8, 3)), _input((8, 2), seed=1)
    with torch.no_grad():
        tmodel(torch.tensor(x))                          # materialize torch's too
    model.load_state_dict(to_cr_state(tmodel.state_dict()))   # lazy: takes torch's shapes
    assert all(a is b for a, b in zip(params, opt.param_groups[0]["params"]))
    assert [p.shape for p in params] == [tuple(p.shape) for p in tmodel.parameters()]
    for step in range(5):
        for o, mdl, xx, tt, lib in ((opt, model, cr.tensor(x), cr.tensor(target), cr),
                                    (topt, tmodel, torch.tensor(x), torch.tensor(target), torch)):
            o.zero_grad()
            loss = ((mdl(xx) - tt) ** 2).mean()
            loss.backward()
            o.step()
        for (k, v), tv in zip(model.state_dict().items(), tmodel.state_dict().values()):
            np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"step {step}: {k}")


def test_first_forward_materializes_the_parameters_the_optimizer_holds():
    cr.manual_seed(0)
    m = nn.LazyLinear(3)
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    w = m.weight
    m(cr.ones(2, 4)).sum().backward()
    assert m.weight is w and opt.param_groups[0]["params"][0] is w and w.shape == (3, 4)
    before = w.numpy().copy()
    opt.step()
    np.testing.assert_allclose(w.numpy(), before - 0.1 * 2, rtol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_into_a_lazy_module(name, tmp_path):
    make, tmake, shape, eager = CASES[name]
    src = make()
    src(cr.tensor(_input(shape)))
    src.eval()
    cr.save(src.state_dict(), tmp_path / "m.safetensors")
    dst = make()
    dst.load_state_dict(cr.load(tmp_path / "m.safetensors"))
    assert type(dst) is eager and not dst._forward_pre_hooks
    for (k, v), w in zip(dst.state_dict().items(), src.state_dict().values()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
    dst.eval()
    x = cr.tensor(_input(shape, 3))
    np.testing.assert_array_equal(dst(x).numpy(), src(x).numpy())
    tm = tmake()                                          # torch loads the same state
    tm.load_state_dict(to_torch_state(src.state_dict()))
    tm.eval()
    np.testing.assert_allclose(tm(torch.tensor(x.numpy())).detach().numpy(), src(x).numpy(),
                               rtol=2e-5, atol=2e-6)


def test_loading_sets_the_inferred_size_and_draws_nothing():
    src = nn.Conv2d(6, 4, 3, groups=2)
    dst = nn.LazyConv2d(4, 3, groups=2)
    cr.manual_seed(3)
    dst.load_state_dict(src.state_dict())
    after = cr.rand(2).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(after, cr.rand(2).numpy())
    assert dst.in_channels == 6 and dst.weight.shape == (4, 3, 3, 3)


def test_a_partial_load_initialises_the_rest_as_the_eager_layer():
    src = nn.Linear(5, 3)
    dst = nn.LazyLinear(3)
    cr.manual_seed(1)
    missing, _ = dst.load_state_dict({"weight": src.weight.detach()}, strict=False)
    cr.manual_seed(1)
    eager = nn.Linear(5, 3)
    assert missing == ["bias"]
    np.testing.assert_array_equal(dst.weight.numpy(), src.weight.numpy())
    np.testing.assert_array_equal(dst.bias.numpy(), eager.bias.numpy())


def test_lazy_state_into_lazy_module_stays_lazy_and_into_eager_is_an_error():
    dst = nn.LazyLinear(3)
    dst.load_state_dict(nn.LazyLinear(3).state_dict())
    assert type(dst) is nn.LazyLinear and dst.has_uninitialized_params()
    with pytest.raises(RuntimeError, match="weight is uninitialized in the state_dict"):
        nn.Linear(2, 3).load_state_dict(nn.LazyLinear(3).state_dict())


def test_a_load_with_wrong_shapes_fails_and_changes_nothing():
    dst = nn.Sequential(nn.LazyLinear(3), nn.LazyLinear(2))
    bad = {"0.weight": cr.zeros(3, 4), "0.bias": cr.zeros(3), "1.weight": cr.zeros(2, 5),
           "1.bias": cr.zeros(2)}
    dst.load_state_dict(bad)   # each lazy layer reads in_features from its own weight
    assert dst[1].in_features == 5
    dst2 = nn.Sequential(nn.LazyLinear(3))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\(4, 2\).*\(3, 2\)"):
        dst2.load_state_dict({"0.weight": cr.zeros(4, 2), "0.bias": cr.zeros(3)})
    assert type(dst2[0]) is nn.LazyLinear and dst2[0].has_uninitialized_params()
    with pytest.raises(RuntimeError, match="in_features comes from a 2-D 'weight'"):
        dst2.load_state_dict({"0.bias": cr.zeros(3)}, strict=False)
    assert dst2[0].has_uninitialized_params()


def test_uninitialized_parameters_refuse_to_be_used(tmp_path):
    m = nn.LazyLinear(3)
    w = m.weight
    assert isinstance(w, nn.Parameter) and isinstance(w, nn.UninitializedParameter)
    assert w.requires_grad and w.grad is None and w.dtype == np.float32 and repr(w) == \
        "<UninitializedParameter>"
    with pytest.raises(ValueError, match="uninitialized parameter.*numel"):
        w.numel()
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        w.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        w + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        cr.matmul(cr.ones(2, 2), w)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        nn.functional.linear(cr.ones(2, 2), w)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        sum(p.numel() for p in m.parameters())
    with pytest.raises(ValueError, match="uninitialized parameter"):
        np.asarray(w)
    with pytest.raises(TypeError, match="cannot store a UninitializedArray at 'weight'"):
        cr.save(m.state_dict(), tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="uninitialized parameter"):
        nn.init.xavier_uniform_(w)
    b = nn.LazyBatchNorm1d().running_mean
    assert isinstance(b, nn.UninitializedBuffer) and not isinstance(b, nn.Parameter)
    with pytest.raises(ValueError, match="uninitialized"):
        b * 2


def test_bad_first_inputs_are_clear_errors():
    with pytest.raises(ValueError, match=r"LazyConv2d: expected 3D or 4D input.*\(2, 3\)"):
        nn.LazyConv2d(2, 3)(cr.ones(2, 3))
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.LazyConv1d(4, 3, groups=2)(cr.ones(1, 3, 8))
    with pytest.raises(ValueError, match="LazyBatchNorm2d: expected 4D input"):
        nn.LazyBatchNorm2d()(cr.ones(2, 3))
    with pytest.raises(ValueError, match="LazyLinear: expected an input with a feature dim"):
        nn.LazyLinear(2)(cr.tensor(1.0))
    m = nn.LazyLinear(2)
    with pytest.raises(ValueError):
        m(cr.tensor(1.0))
    assert m.has_uninitialized_params() and type(m) is nn.LazyLinear   # still usable
    assert m(cr.ones(1, 3)).shape == (1, 2)


def test_dtype_deepcopy_and_cast_before_the_first_forward():
    m = nn.LazyLinear(2, dtype=cr.float64)
    m(cr.ones(1, 3, dtype=cr.float64))
    assert m.weight.dtype == np.float64
    m2 = nn.Sequential(nn.LazyLinear(2), nn.LazyBatchNorm1d()).double()
    twin = copy.deepcopy(m2)
    m2(cr.ones(4, 3, dtype=cr.float64))
    assert twin[0].has_uninitialized_params() and twin[0].weight is not m2[0].weight
    assert m2[0].weight.dtype == np.float64 and m2[1].running_var.dtype == np.float64
    twin(cr.ones(4, 7, dtype=cr.float64))
    assert twin[0].weight.shape == (2, 7) and type(twin[1]) is nn.BatchNorm1d


def test_materialize_by_hand():
    p = nn.UninitializedParameter()
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.numel() == 6
    b = nn.UninitializedBuffer(dtype=cr.float64)
    b.materialize((4,))
    assert type(b) is cr.Tensor and b.dtype == np.float64
