"""CosineAnnealingWarmRestarts and ConstantLR against torch.optim.lr_scheduler: step by step
(also with fractional step(epoch)), inside SequentialLR and ChainedScheduler, and resumed
through state_dict."""
from __future__ import annotations

import warnings

import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.optim import lr_scheduler as S

T = torch.optim.lr_scheduler


def _opts():
    p, tp = cr.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    q, tq = cr.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    return (SGD([{"params": [p]}, {"params": [q], "lr": 0.2}], lr=0.1),
            torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.2}], lr=0.1))


def _same(sched, tsched, opt, topt, where):
    ours = [g["lr"] for g in opt.param_groups]
    assert ours == pytest.approx([float(g["lr"]) for g in topt.param_groups], rel=1e-12,
                                 abs=1e-15), where
    assert sched.get_last_lr() == pytest.approx([float(v) for v in tsched.get_last_lr()],
                                                rel=1e-12, abs=1e-15), where


BUILDS = {
    "cawr": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=3),
    "cawr_mult": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.01),
    "constant": lambda M, o: M.ConstantLR(o, factor=0.25, total_iters=3),
    "constant_default": lambda M, o: M.ConstantLR(o),
    "sequential": lambda M, o: M.SequentialLR(
        o, [M.ConstantLR(o, factor=0.5, total_iters=2),
            M.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)], milestones=[4]),
    "sequential_cawr_first": lambda M, o: M.SequentialLR(
        o, [M.CosineAnnealingWarmRestarts(o, T_0=2), M.ConstantLR(o, factor=0.5)],
        milestones=[5]),
    "chained": lambda M, o: M.ChainedScheduler(
        [M.ConstantLR(o, factor=0.5, total_iters=4), M.ExponentialLR(o, 0.9)]),
}


@pytest.mark.parametrize("name", list(BUILDS))
def test_sequence_matches_torch(name):
    opt, topt = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, tsched = BUILDS[name](S, opt), BUILDS[name](T, topt)
        for i in range(20):
            _same(sched, tsched, opt, topt, f"{name}, step {i}")
            opt.step(), topt.step(), sched.step(), tsched.step()


@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs_match_torch(t_mult):
    opt, topt = _opts()
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=t_mult, eta_min=0.001)
    tsched = T.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=t_mult, eta_min=0.001)
    iters = 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no deprecation warning, as PyTorch
        for epoch in range(8):
            for i in range(iters):
                sched.step(epoch + i / iters)
                tsched.step(epoch + i / iters)
                _same(sched, tsched, opt, topt, f"epoch {epoch} + {i}/{iters}")
                assert sched.last_epoch == tsched.last_epoch
    sched.step(13.5), tsched.step(13.5)
    _same(sched, tsched, opt, topt, "jump to 13.5")
    assert (sched.T_cur, sched.T_i) == pytest.approx((tsched.T_cur, tsched.T_i))


@pytest.mark.parametrize("name", ["cawr_mult", "constant", "sequential"])
def test_state_dict_resumes_as_an_uninterrupted_run(name):
    opt, _ = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = BUILDS[name](S, opt)
        lrs = []
        for _ in range(12):
            opt.step(), ref.step()
            lrs.append(ref.get_last_lr())
        opt2, _ = _opts()
        first = BUILDS[name](S, opt2)
        for _ in range(5):
            opt2.step(), first.step()
        saved, opt_saved = first.state_dict(), opt2.state_dict()
        opt3, _ = _opts()
        resumed = BUILDS[name](S, opt3)        # built first, then both loaded (PyTorch's order)
        opt3.load_state_dict(opt_saved)
        resumed.load_state_dict(saved)
        for i in range(5, 12):
            opt3.step(), resumed.step()
            assert resumed.get_last_lr() == pytest.approx(lrs[i], rel=1e-12), f"step {i}"


def test_bad_arguments_are_refused_by_name():
    opt, _ = _opts()
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="T_mult"):
        S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="non-negative epoch"):
        S.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1)
    with pytest.raises(ValueError, match="factor"):
        S.ConstantLR(opt, factor=1.5)
