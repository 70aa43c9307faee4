"""Learning-rate schedules yield PyTorch's sequences and resume from state_dict."""
from __future__ import annotations

import math

import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.optim import lr_scheduler as S

T = torch.optim.lr_scheduler

CASES = {
    "step": (lambda o: S.StepLR(o, step_size=3, gamma=0.5), lambda o: T.StepLR(o, 3, 0.5)),
    "multistep": (lambda o: S.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3),
                  lambda o: T.MultiStepLR(o, [2, 5, 5, 9], gamma=0.3)),
    "exponential": (lambda o: S.ExponentialLR(o, 0.9), lambda o: T.ExponentialLR(o, 0.9)),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
               lambda o: T.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    "linear_warmup": (lambda o: S.LinearLR(o, start_factor=0.1, total_iters=4),
                      lambda o: T.LinearLR(o, start_factor=0.1, total_iters=4)),
    "sequential": (
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=3),
                                     S.CosineAnnealingLR(o, T_max=6)], milestones=[3]),
        lambda o: T.SequentialLR(o, [T.LinearLR(o, start_factor=0.2, total_iters=3),
                                     T.CosineAnnealingLR(o, T_max=6)], milestones=[3])),
    "sequential_exp_step": (
        lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.8), S.StepLR(o, 2, 0.5)], [4]),
        lambda o: T.SequentialLR(o, [T.ExponentialLR(o, 0.8), T.StepLR(o, 2, 0.5)], [4])),
}


def _opts(lr=0.1):
    p = cr.zeros(2, requires_grad=True)
    tp = torch.zeros(2, requires_grad=True)
    q = cr.zeros(1, requires_grad=True)
    tq = torch.zeros(1, requires_grad=True)
    return (SGD([{"params": [p]}, {"params": [q], "lr": lr * 3}], lr=lr),
            torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": lr * 3}], lr=lr))


@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    make, tmake = CASES[name]
    opt, topt = _opts()
    sched, tsched = make(opt), tmake(topt)
    for epoch in range(25):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), \
            f"{name}: epoch {epoch}"
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12, abs=1e-15)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_resume_continues_identically(name):
    make, _ = CASES[name]
    opt, _ = _opts()
    sched = make(opt)
    full = []
    for _ in range(15):
        full.append(sched.get_last_lr())
        sched.step()
    opt2, _ = _opts()
    sched2 = make(opt2)
    for _ in range(6):
        sched2.step()
    saved_sched = sched2.state_dict()
    saved_lrs = [dict(g) for g in opt2.param_groups]
    opt3, _ = _opts()
    for g, s in zip(opt3.param_groups, saved_lrs):
        g["lr"], g["initial_lr"] = s["lr"], s["initial_lr"]
    sched3 = make(opt3)
    sched3.load_state_dict(saved_sched)
    for g, s in zip(opt3.param_groups, saved_lrs):   # constructing stepped once: restore lrs
        g["lr"] = s["lr"]
    resumed = []
    for _ in range(9):
        resumed.append(sched3.get_last_lr())
        sched3.step()
    flat = [lr for lrs in resumed for lr in lrs]
    assert flat == pytest.approx([lr for lrs in full[6:] for lr in lrs], rel=1e-12)


def test_reduce_on_plateau_matches_torch():
    opt, topt = _opts()
    s = S.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.01)
    ts = T.ReduceLROnPlateau(topt, factor=0.5, patience=2, cooldown=1, min_lr=0.01)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    for m in metrics:
        s.step(m)
        ts.step(m)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["best"] == 0.8


def test_state_dicts_fit_a_checkpoint(tmp_path):
    opt, _ = _opts()
    sched = CASES["sequential"][0](opt)
    sched.step()
    cr.save({"sched": sched.state_dict()}, tmp_path / "s.safetensors")
    back = cr.load(tmp_path / "s.safetensors")["sched"]
    assert back["last_epoch"] == sched.last_epoch and len(back["_schedulers"]) == 2


@pytest.mark.parametrize("bad", [
    lambda o: S.StepLR(o, step_size=0), lambda o: S.LinearLR(o, start_factor=0),
    lambda o: S.CosineAnnealingLR(o, T_max=0), lambda o: S.ReduceLROnPlateau(o, factor=1.5),
    lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[1]),
])
def test_invalid_arguments_raise(bad):
    opt, _ = _opts()
    with pytest.raises(ValueError):
        bad(opt)


def test_cosine_endpoints():
    opt, _ = _opts(lr=1.0)
    s = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for _ in range(10):
        s.step()
    assert s.get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)
    s2 = S.CosineAnnealingLR(_opts(lr=1.0)[0], T_max=10)
    for _ in range(5):
        s2.step()
    assert s2.get_last_lr()[0] == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
