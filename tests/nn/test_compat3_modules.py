"""The #18 part-3 modules against torch.nn: same weights (through state_dict), forward and
backward; ParameterList/ParameterDict registration, repr, state_dict keys and optimizers;
channel-wise dropout masks; InstanceNorm running statistics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn

RNG = np.random.default_rng(0)


def _pair(build, *shapes, train=True):
    ours, theirs = build(nn), build(torch.nn)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    ours.train(train), theirs.train(train)
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, ty = ours(*xs), theirs(*ts)
    if isinstance(y, tuple):
        np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
        y, ty = y[0], ty[0]
    w = RNG.standard_normal(tuple(y.shape)).astype(np.float32)
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (k, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=k)
    return ours, theirs


CASES = {
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 0.7), (3, 4)),
    "ReLU6": (lambda m: m.ReLU6(), (3, 4)),
    "Hardsigmoid": (lambda m: m.Hardsigmoid(), (3, 4)),
    "Softsign": (lambda m: m.Softsign(), (3, 4)),
    "Tanhshrink": (lambda m: m.Tanhshrink(), (3, 4)),
    "LogSigmoid": (lambda m: m.LogSigmoid(), (3, 4)),
    "Mish": (lambda m: m.Mish(), (3, 4)),
    "CosineSimilarity": (lambda m: m.CosineSimilarity(dim=-1), (3, 4), (3, 4)),
    "PairwiseDistance": (lambda m: m.PairwiseDistance(p=3.0, keepdim=True), (3, 4), (3, 4)),
    "AdaptiveMaxPool1d": (lambda m: m.AdaptiveMaxPool1d(3, return_indices=True), (2, 3, 7)),
    "AdaptiveMaxPool2d": (lambda m: m.AdaptiveMaxPool2d((2, None)), (2, 3, 5, 4)),
    "Unfold": (lambda m: m.Unfold(2, padding=1, stride=2), (2, 3, 5, 4)),
    "Fold": (lambda m: m.Fold((4, 5), 2), (2, 12, 12)),
    "InstanceNorm1d": (lambda m: m.InstanceNorm1d(3, affine=True), (2, 3, 6)),
    "InstanceNorm2d": (lambda m: m.InstanceNorm2d(3), (3, 4, 5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_module_matches_torch(name):
    build, *shapes = CASES[name]
    ours, theirs = _pair(build, *shapes)
    assert repr(ours) == repr(theirs)


def test_kl_div_loss_matches_torch_in_every_reduction():
    x = np.log(RNG.dirichlet(np.ones(5), size=4)).astype(np.float32)
    t = RNG.dirichlet(np.ones(5), size=4).astype(np.float32)
    for red in ("batchmean", "sum", "none", "mean"):
        for log_target in (False, True):
            tt = np.log(t) if log_target else t
            a, ta = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = nn.KLDivLoss(reduction=red, log_target=log_target)(a, cr.tensor(tt))
                ty = torch.nn.KLDivLoss(reduction=red, log_target=log_target)(
                    ta, torch.tensor(tt))
            y.sum().backward(), ty.sum().backward()
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5,
                                       atol=1e-7)
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.warns(UserWarning, match="batchmean"):
        nn.KLDivLoss()(cr.tensor(x), cr.tensor(t))


@pytest.mark.parametrize("track", [False, True])
def test_instance_norm_running_stats_and_eval_match_torch(track):
    build = (lambda m: m.InstanceNorm2d(3, momentum=0.3, affine=True,
                                        track_running_stats=track))
    ours, theirs = build(nn), build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(3):
        x = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)
        ours(cr.tensor(x)), theirs(torch.tensor(x))
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, err_msg=k)
    ours.eval(), theirs.eval()
    x = RNG.standard_normal((3, 4, 4)).astype(np.float32)           # unbatched
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (4, 6, 5)), ("Dropout1d", (6, 5)),
                                       ("Dropout2d", (4, 6, 3, 3)),
                                       ("Dropout3d", (4, 6, 2, 2, 2)),
                                       ("Dropout3d", (6, 2, 2, 2))])
def test_channel_dropout_drops_whole_channels_with_zero_gradient(cls, shape):
    cr.manual_seed(0)
    layer = getattr(nn, cls)(p=0.4)
    x = cr.tensor(RNG.uniform(1, 2, shape).astype(np.float32), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    lead = 2 if len(shape) in (3, 4) and cls != "Dropout3d" or len(shape) == 5 else 1
    per = y.detach().numpy().reshape(shape[:lead] + (-1,))
    kept = (per != 0).all(axis=-1)
    assert ((per == 0).all(axis=-1) | kept).all()          # a channel is all kept or all zero
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(per[kept], (x.detach().numpy().reshape(per.shape)[kept]) / 0.6,
                               rtol=1e-6)
    g = x.grad.numpy().reshape(per.shape)
    assert (g[~kept] == 0).all() and np.allclose(g[kept], 1 / 0.6)
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == repr(getattr(torch.nn, cls)(p=0.4))


def test_dropout2d_reads_a_3d_input_as_torch_with_a_warning():
    with pytest.warns(UserWarning, match="3-D"):
        y = nn.functional.dropout2d(cr.ones(2, 3, 4), 0.5)
    per = y.numpy().reshape(2, 3, 4)
    assert ((per == 0).all(-1) | (per == 2).all(-1)).all()


def test_parameter_list_and_dict_as_torch():
    def build(lib):
        m = lib.nn.Module()
        m.pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)), lib.zeros(3)])
        m.pl.append(lib.ones(1))
        m.pl.extend([lib.nn.Parameter(lib.zeros(2))])
        m.pd = lib.nn.ParameterDict({"a": lib.nn.Parameter(lib.ones(2))})
        m.pd["b"] = lib.zeros(4)
        m.pd.update([("c", lib.nn.Parameter(lib.ones(1)))])
        return m
    ours, theirs = build(cr), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("chainrule", "torch") == repr(theirs)
    assert len(ours.pl) == 4 and type(ours.pl[1]) is nn.Parameter and ours.pl[-1] is ours.pl[3]
    assert list(ours.pd) == ["a", "b", "c"] and "b" in ours.pd and ours.pd.get("z") is None
    assert isinstance(ours.pd["b"], nn.Parameter)
    opt = cr.optim.SGD(ours.parameters(), lr=0.5)
    assert sum(len(g["params"]) for g in opt.param_groups) == 7
    loss = sum((p * p).sum() for p in ours.pl) + (ours.pd["a"] * 3).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(ours.pd["a"].numpy(), [-0.5, -0.5])
    np.testing.assert_allclose(ours.pl[0].numpy(), np.zeros((2, 3)))
    del ours.pd["a"]
    assert "pd.a" not in ours.state_dict() and len(ours.pd) == 2
    with pytest.raises(IndexError, match="out of range"):
        ours.pl[4]
    with pytest.raises(KeyError):
        ours.pd["zz"]
    with pytest.raises(RuntimeError, match="should not be called"):
        ours.pl()
