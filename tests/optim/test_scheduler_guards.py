"""Schedules SequentialLR starts afresh at a milestone (through their closed form, at epoch 0):
each follower's first learning rate and the sequence after it must match torch."""
from __future__ import annotations

import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.optim import lr_scheduler as S

T = torch.optim.lr_scheduler

FOLLOWERS = {
    "exponential": (lambda o: S.ExponentialLR(o, 0.7), lambda o: T.ExponentialLR(o, 0.7)),
    "multistep_at_0": (lambda o: S.MultiStepLR(o, [0, 2, 4], gamma=0.5),
                       lambda o: T.MultiStepLR(o, [0, 2, 4], gamma=0.5)),
    "step": (lambda o: S.StepLR(o, 2, 0.3), lambda o: T.StepLR(o, 2, 0.3)),
    "cosine_eta_min": (lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.02),
                       lambda o: T.CosineAnnealingLR(o, T_max=4, eta_min=0.02)),
    "linear": (lambda o: S.LinearLR(o, start_factor=0.5, end_factor=0.9, total_iters=3),
               lambda o: T.LinearLR(o, start_factor=0.5, end_factor=0.9, total_iters=3)),
}


@pytest.mark.parametrize("name", list(FOLLOWERS))
def test_sequential_followers_start_from_their_closed_form_as_in_torch(name):
    make, tmake = FOLLOWERS[name]
    p, tp = cr.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt, topt = SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    sched = S.SequentialLR(opt, [S.ExponentialLR(opt, 0.9), make(opt)], milestones=[3])
    tsched = T.SequentialLR(topt, [T.ExponentialLR(topt, 0.9), tmake(topt)], milestones=[3])
    for epoch in range(12):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12), \
            f"{name}: epoch {epoch}"
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
