"""Changing a schedule in flight: ``rebase(start_lr)`` moves it to a new base at its current
step, assigning ``shape`` stretches it (new T_max / step_size / gamma) at its current step."""
from __future__ import annotations

import math

import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.optim import lr_scheduler as S


def _opt(lr=0.1):
    return SGD([cr.zeros(2, requires_grad=True)], lr=lr)


def _cosine(t, base, T, lo=0.0):
    return lo + (base - lo) * (1 + math.cos(math.pi * t / T)) / 2


FORMULAS = {  # lr_t for base b: the schedules' closed forms
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
               lambda t, b: _cosine(t, b, 10, 0.01)),
    "step": (lambda o: S.StepLR(o, step_size=3, gamma=0.5), lambda t, b: b * 0.5 ** (t // 3)),
    "exponential": (lambda o: S.ExponentialLR(o, gamma=0.8), lambda t, b: b * 0.8 ** t),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_rebase_keeps_the_progress_and_follows_the_new_base(name):
    make, lr_at = FORMULAS[name]
    opt = _opt(0.1)
    sched = make(opt)
    for _ in range(4):
        sched.step()
    sched.rebase(0.5)
    assert sched.last_epoch == 4
    assert opt.param_groups[0]["initial_lr"] == 0.5 and sched.base_lrs == [0.5]
    assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(4, 0.5), rel=1e-12)
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    for t in range(5, 12):
        sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(t, 0.5), rel=1e-9), t


@pytest.mark.parametrize("name", ["cosine", "step", "exponential"])
def test_rebased_schedule_matches_torch_run_from_the_new_start(name):
    """After rebase(0.4) at step 3, the lrs are those of torch's schedule run from lr 0.4."""
    ours = {"cosine": lambda o: S.CosineAnnealingLR(o, T_max=10),
            "step": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
            "exponential": lambda o: S.ExponentialLR(o, gamma=0.8)}[name]
    theirs = {"cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
              "step": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
              "exponential": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)}
    opt = _opt(0.1)
    sched = ours(opt)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.4)
    tsched = theirs[name](topt)
    for _ in range(3):
        sched.step()
        topt.step()
        tsched.step()
    sched.rebase(0.4)
    for t in range(3, 15):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-9), t
        sched.step()
        topt.step()
        tsched.step()


def test_shape_stretches_a_cosine_at_its_current_step():
    opt = _opt(0.1)
    sched = S.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    assert sched.shape == {"T_max": 10, "eta_min": 0.0}
    sched.shape = {"T_max": 20}
    sched.rebase(0.1)
    assert sched.shape == {"T_max": 20, "eta_min": 0.0} and sched.last_epoch == 4
    for t in range(4, 21):
        assert opt.param_groups[0]["lr"] == pytest.approx(_cosine(t, 0.1, 20), abs=1e-12), t
        sched.step()


@pytest.mark.parametrize("make, new, lr_at", [
    (lambda o: S.StepLR(o, step_size=2, gamma=0.5), {"step_size": 4},
     lambda t: 0.1 * 0.5 ** (t // 4)),
    (lambda o: S.ExponentialLR(o, gamma=0.5), {"gamma": 0.9}, lambda t: 0.1 * 0.9 ** t),
])
def test_shape_changes_step_and_exponential_schedules(make, new, lr_at):
    opt = _opt(0.1)
    sched = make(opt)
    for _ in range(3):
        sched.step()
    sched.shape = new
    sched.rebase(0.1)
    for t in range(3, 12):
        assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(t), rel=1e-9), t
        sched.step()


@pytest.mark.parametrize("make, bad, match", [
    (lambda o: S.CosineAnnealingLR(o, T_max=5), {"T_max": 0}, "T_max must be positive"),
    (lambda o: S.CosineAnnealingLR(o, T_max=5), {"step_size": 3}, "shape has no"),
    (lambda o: S.StepLR(o, step_size=2), {"step_size": 0}, "positive number"),
    (lambda o: S.ExponentialLR(o, gamma=0.5), {"gamma": -1.0}, "gamma must be positive"),
])
def test_a_bad_shape_is_refused_and_changes_nothing(make, bad, match):
    sched = make(_opt())
    before = sched.shape
    with pytest.raises(ValueError, match=match):
        sched.shape = bad
    assert sched.shape == before


def test_rebase_refuses_a_negative_lr_and_a_schedule_without_closed_form():
    opt = _opt()
    with pytest.raises(ValueError, match="non-negative"):
        S.StepLR(opt, step_size=2).rebase(-0.1)
    seq = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=2), S.StepLR(opt, step_size=2)],
                         milestones=[2])
    with pytest.raises(TypeError, match="no closed form"):
        seq.rebase(0.2)

