"""Learning-rate schedules yield PyTorch's sequences and resume from state_dict."""
from __future__ import annotations

import math
import warnings

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


def _assert_same_schedule(name, make, tmake, epochs: int, check_groups: bool = True):
    """Step a chainrule schedule and its torch twin side by side; the lrs agree every epoch."""
    opt, topt = _opts()
    sched, tsched = make(opt), tmake(topt)
    for epoch in range(epochs):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), \
            f"{name}: epoch {epoch}"
        if check_groups:
            assert [g["lr"] for g in opt.param_groups] == pytest.approx(
                [g["lr"] for g in topt.param_groups], rel=1e-12, abs=1e-15)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    _assert_same_schedule(name, *CASES[name], epochs=25)


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


# A metric that rises, stalls, dips, creeps up by less than a threshold and rises again: every
# branch of the plateau rule (improve / bad epoch / reduce / cooldown / min_lr floor / eps).
PLATEAU_METRICS = [0.50, 0.60, 0.60, 0.59, 0.60, 0.6001, 0.61, 0.61, 0.612, 0.70, 0.70, 0.69,
                   0.69, 0.70, 0.7005, 0.71, 0.71, 0.71, 0.71, 0.71, 0.71, 0.71, 0.71, 0.71,
                   0.72, 0.72, 0.72, 0.72, 0.72, 0.72, -0.2, -0.1, -0.1, -0.1, float("nan"), 0.8]
PLATEAU_OPTIONS = [
    dict(mode="max", threshold_mode="rel", threshold=1e-2, patience=1, cooldown=2,
         factor=0.5, min_lr=0.02),
    dict(mode="max", threshold_mode="abs", threshold=5e-3, patience=2, cooldown=1,
         factor=0.3, min_lr=[0.01, 0.05]),
    dict(mode="max", threshold_mode="rel", threshold=0.0, patience=0, cooldown=0, factor=0.5),
    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=3, cooldown=3, factor=0.1,
         min_lr=1e-3, eps=1e-3),
    dict(mode="min", threshold_mode="abs", threshold=5e-3, patience=1, cooldown=2, factor=0.5,
         min_lr=0.03),
    dict(mode="min", threshold_mode="rel", threshold=1e-1, patience=2, cooldown=0, factor=0.2),
]


@pytest.mark.parametrize("options", PLATEAU_OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items() if k in ("mode", "threshold_mode", "cooldown")))
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_reduce_on_plateau_options_match_torch_step_by_step(options, sign):
    opt, topt = _opts()
    s, ts = S.ReduceLROnPlateau(opt, **options), T.ReduceLROnPlateau(topt, **options)
    reductions = 0
    for epoch, m in enumerate(PLATEAU_METRICS):
        before = s.get_last_lr()
        s.step(sign * m)
        ts.step(sign * m)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), f"epoch {epoch}"
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12)
        assert (s.best, s.num_bad_epochs, s.cooldown_counter, s.last_epoch) == \
            pytest.approx((ts.best, ts.num_bad_epochs, ts.cooldown_counter, ts.last_epoch),
                          nan_ok=True), f"epoch {epoch}"
        reductions += s.get_last_lr() != before
    assert reductions >= 1  # the sequence does exercise a reduction under every option set


def test_reduce_on_plateau_resumes_from_its_state_dict_like_torch():
    options = PLATEAU_OPTIONS[1]
    opt, topt = _opts()
    s, ts = S.ReduceLROnPlateau(opt, **options), T.ReduceLROnPlateau(topt, **options)
    for m in PLATEAU_METRICS[:12]:
        s.step(m)
        ts.step(m)
    saved, lrs = s.state_dict(), [g["lr"] for g in opt.param_groups]
    opt2, _ = _opts()
    for g, lr in zip(opt2.param_groups, lrs):
        g["lr"] = lr
    s2 = S.ReduceLROnPlateau(opt2)          # default options: the state brings them back
    s2.load_state_dict(saved)
    for m in PLATEAU_METRICS[12:]:
        s2.step(m)
        ts.step(m)
        assert s2.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


MORE_CASES = {  # options the sequences above leave at their defaults
    "step_gamma_default": (lambda o: S.StepLR(o, step_size=2), lambda o: T.StepLR(o, 2)),
    "multistep_unsorted": (lambda o: S.MultiStepLR(o, [7, 1, 4], gamma=0.5),
                           lambda o: T.MultiStepLR(o, [7, 1, 4], gamma=0.5)),
    "exponential_growth": (lambda o: S.ExponentialLR(o, 1.1), lambda o: T.ExponentialLR(o, 1.1)),
    "cosine_short_cycle": (lambda o: S.CosineAnnealingLR(o, T_max=2, eta_min=0.05),
                           lambda o: T.CosineAnnealingLR(o, T_max=2, eta_min=0.05)),
    "linear_decay": (lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=6),
                     lambda o: T.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=6)),
    "linear_to_zero": (lambda o: S.LinearLR(o, start_factor=0.5, end_factor=0.0, total_iters=3),
                       lambda o: T.LinearLR(o, start_factor=0.5, end_factor=0.0, total_iters=3)),
    "linear_defaults": (lambda o: S.LinearLR(o), lambda o: T.LinearLR(o)),
    "sequential_three": (
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=2),
                                     S.StepLR(o, 3, 0.5), S.ExponentialLR(o, 0.9)], [2, 8]),
        lambda o: T.SequentialLR(o, [T.LinearLR(o, start_factor=0.5, total_iters=2),
                                     T.StepLR(o, 3, 0.5), T.ExponentialLR(o, 0.9)], [2, 8])),
}


@pytest.mark.parametrize("name", list(MORE_CASES))
def test_less_used_options_match_torch(name):
    _assert_same_schedule(name, *MORE_CASES[name], epochs=20, check_groups=False)


LAST_EPOCH_CASES = {  # built with last_epoch=k (a resumed schedule): PyTorch's recurrences
    "step": (lambda o: S.StepLR(o, 3, 0.5, last_epoch=5),
             lambda o: T.StepLR(o, 3, 0.5, last_epoch=5)),
    "multistep": (lambda o: S.MultiStepLR(o, [3, 6], 0.5, last_epoch=2),
                  lambda o: T.MultiStepLR(o, [3, 6], 0.5, last_epoch=2)),
    "exponential": (lambda o: S.ExponentialLR(o, 0.9, last_epoch=4),
                    lambda o: T.ExponentialLR(o, 0.9, last_epoch=4)),
    "cosine": (lambda o: S.CosineAnnealingLR(o, 6, 0.01, last_epoch=4),
               lambda o: T.CosineAnnealingLR(o, 6, 0.01, last_epoch=4)),
    "linear": (lambda o: S.LinearLR(o, 0.5, 1.0, 4, last_epoch=2),
               lambda o: T.LinearLR(o, 0.5, 1.0, 4, last_epoch=2)),
}


@pytest.mark.parametrize("name", list(LAST_EPOCH_CASES))
def test_a_schedule_built_with_last_epoch_matches_torch(name):
    make, tmake = LAST_EPOCH_CASES[name]
    opt, topt = _opts()
    for g in opt.param_groups + topt.param_groups:
        g["initial_lr"] = 2 * g["lr"]
    sched = make(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on calling step() before optimizer.step()
        tsched = tmake(topt)
    for epoch in range(12):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15), \
            f"{name}: epoch {epoch}"
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    with pytest.raises(ValueError, match="no 'initial_lr'"):
        make(_opts()[0])


def test_two_chained_schedulers_on_one_optimizer_match_torch():
    opt, topt = _opts()
    a, b = S.StepLR(opt, 3, 0.5), S.ExponentialLR(opt, 0.9)
    ta, tb = T.StepLR(topt, 3, 0.5), T.ExponentialLR(topt, 0.9)
    for epoch in range(12):
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [g["lr"] for g in topt.param_groups], rel=1e-12), f"epoch {epoch}"
        opt.step()
        topt.step()
        for sch in (a, b, ta, tb):
            sch.step()


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
