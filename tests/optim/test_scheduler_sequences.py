"""SequentialLR and ChainedScheduler over schedules without a closed form (LambdaLR,
MultiplicativeLR, CyclicLR, OneCycleLR), and the deprecated ``step(epoch)``: the learning rates
(and cycled momenta) match torch's step by step."""
from __future__ import annotations

import warnings

import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.optim import lr_scheduler as S

T = torch.optim.lr_scheduler


def _halve_every_3(epoch):
    return 0.5 ** (epoch // 3)


def _shrink(epoch):
    return 0.9 if epoch % 2 else 0.95


# (name, chainrule factory, torch factory) taking (module, optimizer); module is S or T
SCHEDULES = {
    "lambda": lambda M, o: M.LambdaLR(o, _halve_every_3),
    "lambda_per_group": lambda M, o: M.LambdaLR(o, [_halve_every_3, lambda e: 1.0 / (1 + e)]),
    "multiplicative": lambda M, o: M.MultiplicativeLR(o, _shrink),
    "cyclic_triangular": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    "cyclic_exp_range": lambda M, o: M.CyclicLR(o, base_lr=0.02, max_lr=0.2, step_size_up=2,
                                                step_size_down=4, mode="exp_range",
                                                gamma=0.9),
    "cyclic_triangular2": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                  mode="triangular2"),
    "onecycle_cos": lambda M, o: M.OneCycleLR(o, max_lr=0.3, total_steps=40),
    "onecycle_linear_3phase": lambda M, o: M.OneCycleLR(o, max_lr=[0.3, 0.5], total_steps=40,
                                                        anneal_strategy="linear",
                                                        three_phase=True, pct_start=0.2),
    "exponential": lambda M, o: M.ExponentialLR(o, 0.8),
    "step": lambda M, o: M.StepLR(o, 2, 0.5),
    "cosine": lambda M, o: M.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "linear": lambda M, o: M.LinearLR(o, start_factor=0.25, total_iters=4),
}


def _opts():
    p, tp = cr.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    q, tq = cr.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    return (SGD([{"params": [p]}, {"params": [q], "lr": 0.2}], lr=0.1, momentum=0.9),
            torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.2}], lr=0.1,
                            momentum=0.9))


def _same(opt, topt, where: str) -> None:
    for key in ("lr", "momentum"):
        ours = [g[key] for g in opt.param_groups]
        theirs = [float(g[key]) for g in topt.param_groups]
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15), f"{where}: {key}"


def _run(build, steps: int, what: str) -> None:
    opt, topt = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # torch's "step order" warnings
        sched, tsched = build(S, opt), build(T, topt)
        for i in range(steps):
            _same(opt, topt, f"{what}, step {i}")
            assert sched.get_last_lr() == pytest.approx(
                [float(v) for v in tsched.get_last_lr()], rel=1e-12, abs=1e-15), \
                f"{what}, step {i}"
            opt.step()
            topt.step()
            sched.step()
            tsched.step()


PAIRS = [("lambda", "multiplicative"), ("multiplicative", "lambda"),
         ("exponential", "multiplicative"), ("linear", "cyclic_triangular"),
         ("cyclic_exp_range", "onecycle_cos"), ("lambda_per_group", "onecycle_linear_3phase"),
         ("onecycle_cos", "step"), ("multiplicative", "cyclic_triangular2"),
         ("cosine", "lambda"), ("step", "onecycle_linear_3phase")]


@pytest.mark.parametrize("first,second", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("milestone", [1, 4, 7])
def test_sequential_lr_switches_to_a_schedule_without_closed_form_as_torch(first, second,
                                                                           milestone):
    def build(M, o):
        return M.SequentialLR(o, [SCHEDULES[first](M, o), SCHEDULES[second](M, o)],
                              milestones=[milestone])
    _run(build, 30, f"{first} then {second} at {milestone}")


def test_sequential_lr_with_three_schedules_and_a_nested_chain():
    def build(M, o):
        return M.SequentialLR(o, [SCHEDULES["linear"](M, o), SCHEDULES["multiplicative"](M, o),
                                  SCHEDULES["cyclic_triangular"](M, o)], milestones=[3, 9])
    _run(build, 30, "linear, multiplicative, cyclic")


CHAINS = [("lambda", "multiplicative"), ("exponential", "multiplicative"),
          ("multiplicative", "step", "lambda"), ("cosine", "lambda_per_group")]


@pytest.mark.parametrize("names", CHAINS, ids=["-".join(c) for c in CHAINS])
def test_chained_scheduler_matches_torch(names):
    def build(M, o):
        return M.ChainedScheduler([SCHEDULES[n](M, o) for n in names])
    _run(build, 25, " x ".join(names))


def test_chained_scheduler_state_dict_resumes():
    opt, _ = _opts()
    make = lambda o: S.ChainedScheduler([S.ExponentialLR(o, 0.9), S.StepLR(o, 3, 0.5)])  # noqa
    sched = make(opt)
    for _ in range(4):
        sched.step()
    state, lrs = sched.state_dict(), [g["lr"] for g in opt.param_groups]
    reference = [sched.step() or sched.get_last_lr() for _ in range(5)]
    opt2, _ = _opts()
    resumed = make(opt2)
    resumed.load_state_dict(state)
    for g, lr in zip(opt2.param_groups, lrs):
        g["lr"] = lr
    assert [resumed.step() or resumed.get_last_lr() for _ in range(5)] == reference


EPOCHS = [3, 0, 7, 7, 2, 11, 5]   # jumps forward, back, repeats


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_step_with_an_epoch_warns_and_gives_torchs_values(name):
    opt, topt = _opts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched, tsched = SCHEDULES[name](S, opt), SCHEDULES[name](T, topt)
    for epoch in EPOCHS:
        with pytest.warns(UserWarning, match="deprecated"):
            sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(epoch)
        assert sched.last_epoch == tsched.last_epoch == epoch
        _same(opt, topt, f"{name}: step({epoch})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step()
            tsched.step()
        _same(opt, topt, f"{name}: step() after step({epoch})")


def test_reduce_on_plateau_takes_an_epoch_as_torch():
    opt, topt = _opts()
    sched = S.ReduceLROnPlateau(opt, patience=1)
    tsched = T.ReduceLROnPlateau(topt, patience=1)
    for epoch, metric in zip([5, 6, 7, 8, 9], [1.0, 1.0, 1.0, 1.0, 0.5]):
        with pytest.warns(UserWarning, match="deprecated"):
            sched.step(metric, epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(metric, epoch)
        assert sched.last_epoch == tsched.last_epoch == epoch
        _same(opt, topt, f"plateau epoch {epoch}")
