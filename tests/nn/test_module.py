"""Module, Parameter and the containers: registration, iteration, modes, hooks, state_dict
(PyTorch's keys, casting, errors), dtype conversion, repr."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from tests.nn._compare import to_torch_state

tnn = torch.nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("scale", cr.ones(1))
        self.register_buffer("cache", cr.zeros(2), persistent=False)
        self.alpha = nn.Parameter(cr.tensor([0.5]))
        self.note = "plain attribute"

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale * self.alpha


def test_parameter_is_a_tensor_subclass():
    p = nn.Parameter(cr.randn(2, 3))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert nn.Parameter.__slots__ == ()
    assert repr(p).startswith("Parameter containing:\ntensor(")
    t = cr.randn(3)
    assert nn.Parameter(t).numpy() is t.numpy()                    # shares data, as in PyTorch
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    y = p * 2
    assert type(y) is cr.Tensor and y.grad_fn is not None
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.numpy() is not p.numpy()
    np.testing.assert_array_equal(q.numpy(), p.numpy())


def test_registration_and_iteration():
    b = Block()
    names = [n for n, _ in b.named_parameters()]
    assert names == ["alpha", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in b.named_buffers()] == [
        "scale", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in b.named_children()] == ["fc", "bn"]
    assert [n for n, _ in b.named_modules()] == ["", "fc", "bn"]
    assert len(list(b.modules())) == 3 and len(list(b.children())) == 2
    assert [n for n, _ in b.named_parameters(recurse=False)] == ["alpha"]
    assert b.note == "plain attribute" and "note" not in dict(b.named_parameters())
    assert b.get_submodule("bn") is b.bn and b.get_parameter("fc.bias") is b.fc.bias
    assert b.get_buffer("bn.running_var") is b.bn.running_var
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        b.missing


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assignment_rules():
    m = nn.Module()
    m.w = nn.Parameter(cr.zeros(2))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = cr.zeros(2)
    m.w = None
    assert "w" in m._parameters and m.w is None
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("w", cr.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError):
        m.register_buffer("buf", np.zeros(2))
    m.sub = nn.Linear(1, 1)
    del m.sub
    assert "sub" not in m._modules

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_train_eval_zero_grad_requires_grad():
    b = Block()
    assert b.training and b.bn.training
    assert b.eval() is b and not b.bn.training
    b.train()
    assert b.fc.training
    with pytest.raises(ValueError, match="bool"):
        b.train("yes")
    b(cr.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    b.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in b.parameters())
    b.zero_grad()
    assert all(p.grad is None for p in b.parameters())
    b.requires_grad_(False)
    assert not any(p.requires_grad for p in b.parameters())


def test_forward_hooks_and_handles():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    y = lin(cr.ones(3, 2))
    np.testing.assert_allclose(y.numpy(), np.broadcast_to(lin.bias.numpy() + 1, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    np.testing.assert_allclose(lin(cr.ones(1, 2)).numpy(), lin.weight.numpy().sum(1)[None] +
                               lin.bias.numpy(), rtol=1e-6)
    with lin.register_forward_hook(lambda m, a, o: o * 0):
        assert np.all(lin(cr.ones(1, 2)).numpy() == 0)
    assert np.any(lin(cr.ones(1, 2)).numpy() != 0)


def test_state_dict_keys_match_pytorch():
    def build(m):
        return m.Sequential(m.Linear(3, 4), m.BatchNorm1d(4), m.ReLU(),
                            m.Sequential(m.Linear(4, 4), m.LayerNorm(4)), m.PReLU(),
                            m.Embedding(5, 4))
    sd, tsd = build(nn).state_dict(), build(tnn).float().state_dict()  # (torch's default
    # dtype may have been changed by another test module)
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
        assert str(sd[k].dtype).replace("chainrule.", "") == str(tsd[k].dtype).replace("torch.", ""), k
    assert "cache" not in Block().state_dict()                # non-persistent buffer


def test_state_dict_shares_memory_and_detaches():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    assert sd["weight"].numpy() is lin.weight.numpy() and not sd["weight"].requires_grad
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight
    assert list(lin.state_dict(prefix="enc.")) == ["enc.weight", "enc.bias"]


def test_load_state_dict_casts_and_copies_in_place():
    lin = nn.Linear(2, 3)
    w_obj = lin.weight
    src = {"weight": np.arange(6, dtype=np.float64).reshape(3, 2), "bias": [1, 2, 3]}
    result = lin.load_state_dict(src)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert lin.weight is w_obj and lin.weight.dtype == np.float32   # cast to the parameter's dtype
    np.testing.assert_array_equal(lin.weight.numpy(), src["weight"])
    src["weight"][0, 0] = 99                                          # copied, not aliased
    assert lin.weight.numpy()[0, 0] == 0
    t = torch.nn.Linear(2, 3).double()
    lin.load_state_dict(t.state_dict())                               # torch tensors accepted
    np.testing.assert_allclose(lin.bias.numpy(), t.bias.detach().numpy(), rtol=1e-6)


def test_load_state_dict_errors():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = dict(net.state_dict())
    del sd["1.num_batches_tracked"]
    sd["extra.weight"] = cr.zeros(1)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "1.num_batches_tracked"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "Sequential" in msg
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.num_batches_tracked"]
    assert result.unexpected_keys == ["extra.weight"]
    before = net[0].bias.numpy().copy()
    bad = dict(net.state_dict())
    bad["0.weight"] = cr.zeros(2, 3)
    bad["0.bias"] = cr.ones(3)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with "
                                           r"shape \(2, 3\) from checkpoint, the shape in "
                                           r"current model is \(3, 2\)"):
        net.load_state_dict(bad, strict=False)
    np.testing.assert_array_equal(net[0].bias.numpy(), before)         # nothing half-loaded
    with pytest.raises(TypeError, match="expected a dict"):
        net.load_state_dict([1, 2])


def test_to_float_double_and_apply():
    b = Block()
    b(cr.randn(4, 3)).sum().backward()
    assert b.double() is b
    assert all(p.dtype == np.float64 for p in b.parameters())
    assert all(p.grad.dtype == np.float64 for p in b.parameters())
    assert b.bn.running_mean.dtype == np.float64
    assert b.bn.num_batches_tracked.dtype == np.int64             # integer buffers untouched
    assert b(cr.randn(4, 3, dtype=cr.float64)).dtype == np.float64
    b.float()
    assert b.fc.weight.dtype == np.float32
    b.to(cr.float64)
    assert b.fc.bias.dtype == np.float64
    b.to("cpu", dtype="float32")
    assert b.fc.bias.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        b.to(cr.int64)
    seen = []
    b.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Block"]


def test_repr_matches_pytorch():
    def build(m):
        return m.Sequential(
            m.Conv2d(1, 8, 3, padding=1), m.BatchNorm2d(8), m.ReLU(), m.MaxPool2d(2),
            m.Conv2d(8, 8, (3, 2), stride=2, groups=2, bias=False), m.AvgPool2d(2),
            m.AdaptiveAvgPool2d((2, 2)), m.Flatten(), m.Dropout(0.25), m.Linear(32, 10),
            m.LayerNorm(10), m.LeakyReLU(), m.ELU(), m.GELU(), m.Sigmoid(), m.Tanh(),
            m.Softplus(), m.PReLU(), m.Softmax(dim=1), m.LogSoftmax(dim=1), m.Identity(),
            m.Embedding(10, 3, padding_idx=0),
            m.ModuleList([m.Linear(2, 2)]), m.ModuleDict({"a": m.ReLU()}))
    assert repr(build(nn)) == repr(build(tnn))


def test_sequential_and_lists():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[-1], nn.ReLU)
    seq.append(nn.Linear(3, 1))
    assert list(seq.state_dict())[-1] == "2.bias"
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert seq(cr.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError):
        seq[5]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict(enc=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["enc.weight", "enc.bias"]
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Linear(1, 2))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    del ml[0]
    assert list(ml.state_dict())[0] == "0.weight" and ml[-1].out_features == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Linear(1, 1)
    assert list(md) == ["a", "b"] and "b" in md and len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_deepcopy_module_is_independent():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(net)
    twin[0].weight.numpy()[...] = 0
    assert np.any(net[0].weight.numpy() != 0)
    assert twin[0].weight is not net[0].weight and isinstance(twin[0].weight, nn.Parameter)


def test_state_dict_round_trip_through_torch_keys_values():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    net(cr.randn(4, 3))
    tnet = tnn.Sequential(tnn.Linear(3, 2), tnn.BatchNorm1d(2))
    tnet.load_state_dict(to_torch_state(net.state_dict()))
    assert int(tnet[1].num_batches_tracked) == 1
