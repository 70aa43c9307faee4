"""LambdaLR, MultiplicativeLR, PolynomialLR, CyclicLR and OneCycleLR yield PyTorch's sequences
of learning rates (and momenta / Adam's β₁), resume exactly from a checkpoint, and reject bad
arguments as PyTorch does."""
from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as S

T = torch.optim.lr_scheduler


def _opts(kind: str = "sgd", lr: float = 0.1):
    """Twin optimizers with two parameter groups (the second with its own lr)."""
    p, q = cr.zeros(2, requires_grad=True), cr.zeros(1, requires_grad=True)
    tp, tq = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    if kind == "sgd":
        make, tmake, kw = optim.SGD, torch.optim.SGD, {"momentum": 0.9}
    elif kind == "adam":
        make, tmake, kw = optim.Adam, torch.optim.Adam, {}
    else:
        make, tmake, kw = optim.Adagrad, torch.optim.Adagrad, {}
    return (make([{"params": [p]}, {"params": [q], "lr": lr * 3}], lr=lr, **kw),
            tmake([{"params": [tp]}, {"params": [tq], "lr": lr * 3}], lr=lr, **kw))


def _momenta(opt) -> list[float]:
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


class Warmup:
    """A callable object: its state (n, floor) is what a checkpoint keeps of it."""

    def __init__(self, n: int, floor: float = 0.0):
        self.n, self.floor = n, floor

    def __call__(self, epoch: int) -> float:
        return max(self.floor, min(1.0, (epoch + 1) / self.n))


def _triangle_scale(x):
    return 1 / (1 + 0.5 * x)


# name: (optimizer kind, chainrule factory, torch factory, steps)
CASES = {
    "lambda_one": ("sgd", lambda o: S.LambdaLR(o, lambda e: 0.95 ** e),
                   lambda o: T.LambdaLR(o, lambda e: 0.95 ** e), 25),
    "lambda_per_group": ("sgd", lambda o: S.LambdaLR(o, [lambda e: e // 3 + 1, Warmup(5, 0.1)]),
                         lambda o: T.LambdaLR(o, [lambda e: e // 3 + 1, Warmup(5, 0.1)]), 25),
    "multiplicative": ("sgd", lambda o: S.MultiplicativeLR(o, lambda e: 0.9),
                       lambda o: T.MultiplicativeLR(o, lambda e: 0.9), 25),
    "multiplicative_per_group": (
        "adam", lambda o: S.MultiplicativeLR(o, [lambda e: 0.8, lambda e: 1 - 0.02 * e]),
        lambda o: T.MultiplicativeLR(o, [lambda e: 0.8, lambda e: 1 - 0.02 * e]), 25),
    "polynomial_defaults": ("sgd", lambda o: S.PolynomialLR(o), lambda o: T.PolynomialLR(o), 12),
    "polynomial_square": ("sgd", lambda o: S.PolynomialLR(o, total_iters=8, power=2.0),
                          lambda o: T.PolynomialLR(o, total_iters=8, power=2.0), 14),
    "polynomial_sqrt": ("sgd", lambda o: S.PolynomialLR(o, total_iters=3, power=0.5),
                        lambda o: T.PolynomialLR(o, total_iters=3, power=0.5), 8),
    "cyclic_triangular": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                       step_size_down=5),
                          lambda o: T.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5),
                          40),
    "cyclic_triangular2_per_group": (
        "sgd", lambda o: S.CyclicLR(o, [0.01, 0.02], [0.1, 0.5], step_size_up=2,
                                    mode="triangular2", base_momentum=[0.7, 0.8],
                                    max_momentum=0.95),
        lambda o: T.CyclicLR(o, [0.01, 0.02], [0.1, 0.5], step_size_up=2, mode="triangular2",
                             base_momentum=[0.7, 0.8], max_momentum=0.95), 40),
    "cyclic_exp_range_adam": (
        "adam", lambda o: S.CyclicLR(o, 0.001, 0.01, step_size_up=4, mode="exp_range",
                                     gamma=0.9),
        lambda o: T.CyclicLR(o, 0.001, 0.01, step_size_up=4, mode="exp_range", gamma=0.9), 40),
    "cyclic_scale_fn_cycle": (
        "sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=_triangle_scale),
        lambda o: T.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=_triangle_scale), 40),
    "cyclic_scale_fn_iterations_no_momentum": (
        "adagrad", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, step_size_down=3,
                                        scale_fn=lambda x: 0.97 ** x, scale_mode="iterations",
                                        cycle_momentum=False),
        lambda o: T.CyclicLR(o, 0.01, 0.1, step_size_up=2, step_size_down=3,
                             scale_fn=lambda x: 0.97 ** x, scale_mode="iterations",
                             cycle_momentum=False), 40),
    "onecycle_cos": ("sgd", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30),
                     lambda o: T.OneCycleLR(o, max_lr=0.5, total_steps=30), 30),
    "onecycle_linear_adam_per_group": (
        "adam", lambda o: S.OneCycleLR(o, max_lr=[0.01, 0.05], epochs=4, steps_per_epoch=5,
                                       pct_start=0.25, anneal_strategy="linear",
                                       base_momentum=[0.8, 0.85], max_momentum=0.9),
        lambda o: T.OneCycleLR(o, max_lr=[0.01, 0.05], epochs=4, steps_per_epoch=5,
                               pct_start=0.25, anneal_strategy="linear",
                               base_momentum=[0.8, 0.85], max_momentum=0.9), 20),
    "onecycle_three_phase": (
        "sgd", lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=25, three_phase=True,
                                      div_factor=10.0, final_div_factor=100.0),
        lambda o: T.OneCycleLR(o, max_lr=1.0, total_steps=25, three_phase=True,
                               div_factor=10.0, final_div_factor=100.0), 25),
    "onecycle_no_momentum": (
        "adagrad", lambda o: S.OneCycleLR(o, max_lr=0.2, total_steps=11, pct_start=0.5,
                                          cycle_momentum=False),
        lambda o: T.OneCycleLR(o, max_lr=0.2, total_steps=11, pct_start=0.5,
                               cycle_momentum=False), 11),
}


def _close(a, b, what):
    assert a == pytest.approx(b, rel=1e-12, abs=1e-15), what


@pytest.mark.parametrize("name", list(CASES))
def test_lrs_and_momenta_match_torch_step_by_step(name):
    kind, make, tmake, steps = CASES[name]
    opt, topt = _opts(kind)
    sched, tsched = make(opt), tmake(topt)
    seen = set()
    for step in range(steps):
        _close(sched.get_last_lr(), tsched.get_last_lr(), f"{name}: step {step}")
        _close([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups],
               f"{name}: group lrs at step {step}")
        _close(_momenta(opt), _momenta(topt), f"{name}: momenta at step {step}")
        seen.add(tuple(sched.get_last_lr()))
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    assert len(seen) > 3                         # the schedule does move


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("onecycle")])
def test_stepping_one_cycle_past_total_steps_raises_like_torch(name):
    kind, make, tmake, steps = CASES[name]
    opt, topt = _opts(kind)
    sched, tsched = make(opt), tmake(topt)
    for _ in range(steps):                       # up to last_epoch == total_steps is allowed
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    with pytest.raises(ValueError, match=f"Tried to step {steps + 1} times.*{steps}"):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step"):
        tsched.step()


@pytest.mark.parametrize("name", list(CASES))
def test_resume_from_a_checkpoint_continues_identically(name, tmp_path):
    kind, make, _, steps = CASES[name]
    opt, _ = _opts(kind)
    sched = make(opt)
    full = []
    for _ in range(steps):
        full.append((sched.get_last_lr(), _momenta(opt)))
        sched.step()
    cut = steps // 3 + 1
    opt2, _ = _opts(kind)
    sched2 = make(opt2)
    for _ in range(cut):
        sched2.step()
    json.dumps(sched2.state_dict())              # plain data: fits a checkpoint's JSON
    cr.save({"opt": opt2.state_dict(), "sched": sched2.state_dict()}, tmp_path / "c.safetensors")
    saved = cr.load(tmp_path / "c.safetensors")
    opt3, _ = _opts(kind)
    sched3 = make(opt3)                          # PyTorch's order: scheduler, then the states
    opt3.load_state_dict(saved["opt"])
    sched3.load_state_dict(saved["sched"])
    resumed = []
    for _ in range(steps - cut):
        resumed.append((sched3.get_last_lr(), _momenta(opt3)))
        sched3.step()
    for i, ((lr, m), (lr_full, m_full)) in enumerate(zip(resumed, full[cut:])):
        _close(lr, lr_full, f"{name}: resumed step {cut + i}")
        _close(m, m_full, f"{name}: resumed momenta at step {cut + i}")


def test_callable_objects_keep_their_json_state_as_torch_keeps_their_dict():
    opt, topt = _opts()
    sched = S.LambdaLR(opt, [lambda e: 1.0, Warmup(4, 0.2)])
    tsched = T.LambdaLR(topt, [lambda e: 1.0, Warmup(4, 0.2)])
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sd["lr_lambdas"] == tsd["lr_lambdas"] == [None, {"n": 4, "floor": 0.2}]
    other = S.LambdaLR(_opts()[0], [lambda e: 1.0, Warmup(99)])
    other.load_state_dict(json.loads(json.dumps(sd)))
    assert other.lr_lambdas[1].n == 4 and other.lr_lambdas[1].floor == 0.2
    assert "lr_lambdas" in sd                    # loading did not consume the caller's dict
    scale = Warmup(3)
    scale.table = object()                       # not plain data: left out of the state
    cyc = S.CyclicLR(_opts()[0], 0.01, 0.1, scale_fn=scale)
    assert cyc.state_dict()["_scale_fn_custom"] == {"n": 3, "floor": 0.0}
    json.dumps(cyc.state_dict())


CHAINS = {
    "multiplicative_then_step": (
        lambda o: [S.MultiplicativeLR(o, lambda e: 0.95), S.StepLR(o, 4, 0.5)],
        lambda o: [T.MultiplicativeLR(o, lambda e: 0.95), T.StepLR(o, 4, 0.5)]),
    "polynomial_and_exponential": (
        lambda o: [S.PolynomialLR(o, 10, 1.5), S.ExponentialLR(o, 0.97)],
        lambda o: [T.PolynomialLR(o, 10, 1.5), T.ExponentialLR(o, 0.97)]),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_chained_on_one_optimizer_match_torch(name):
    make, tmake = CHAINS[name]
    opt, topt = _opts()
    scheds, tscheds = make(opt), tmake(topt)
    for step in range(16):
        _close([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups],
               f"{name}: step {step}")
        opt.step()
        topt.step()
        for s in scheds + tscheds:
            s.step()


@pytest.mark.parametrize("follower", ["polynomial", "lambda"])
def test_sequential_warmup_then_follower_matches_torch(follower):
    opt, topt = _opts()
    if follower == "polynomial":
        f, tf = S.PolynomialLR(opt, 6, 2.0), T.PolynomialLR(topt, 6, 2.0)
    else:
        f, tf = S.LambdaLR(opt, lambda e: 0.9 ** e), T.LambdaLR(topt, lambda e: 0.9 ** e)
    sched = S.SequentialLR(opt, [S.LinearLR(opt, 0.25, total_iters=3), f], [3])
    tsched = T.SequentialLR(topt, [T.LinearLR(topt, 0.25, total_iters=3), tf], [3])
    for step in range(14):
        _close(sched.get_last_lr(), tsched.get_last_lr(), f"step {step}")
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("make,tmake", [
    (lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1), last_epoch=4),
     lambda o: T.LambdaLR(o, lambda e: 1 / (e + 1), last_epoch=4)),
    (lambda o: S.MultiplicativeLR(o, lambda e: 0.9, last_epoch=3),
     lambda o: T.MultiplicativeLR(o, lambda e: 0.9, last_epoch=3)),
    (lambda o: S.PolynomialLR(o, 6, 2.0, last_epoch=2),
     lambda o: T.PolynomialLR(o, 6, 2.0, last_epoch=2)),
])
def test_built_with_last_epoch_matches_torch(make, tmake):
    opt, topt = _opts()
    for g in opt.param_groups + topt.param_groups:
        g["initial_lr"] = 2 * g["lr"]
    sched = make(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tsched = tmake(topt)
    for step in range(10):
        _close(sched.get_last_lr(), tsched.get_last_lr(), f"step {step}")
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


BAD = {  # chainrule call, torch call, the exception both raise
    "onecycle_no_length": (lambda o: S.OneCycleLR(o, 0.1), lambda o: T.OneCycleLR(o, 0.1),
                           ValueError, "total_steps OR"),
    "onecycle_zero_steps": (lambda o: S.OneCycleLR(o, 0.1, total_steps=0),
                            lambda o: T.OneCycleLR(o, 0.1, total_steps=0), ValueError,
                            "positive integer total_steps"),
    "onecycle_zero_epochs": (lambda o: S.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3),
                             lambda o: T.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3),
                             ValueError, "positive integer epochs"),
    "onecycle_float_steps_per_epoch": (
        lambda o: S.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=2.5),
        lambda o: T.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=2.5), ValueError,
        "steps_per_epoch"),
    "onecycle_pct_start": (lambda o: S.OneCycleLR(o, 0.1, 10, pct_start=1.5),
                           lambda o: T.OneCycleLR(o, 0.1, 10, pct_start=1.5), ValueError,
                           "pct_start"),
    "onecycle_int_pct_start": (lambda o: S.OneCycleLR(o, 0.1, 10, pct_start=0),
                               lambda o: T.OneCycleLR(o, 0.1, 10, pct_start=0), ValueError,
                               "pct_start"),
    "onecycle_anneal": (lambda o: S.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"),
                        lambda o: T.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"), ValueError,
                        "anneal_strategy"),
    "onecycle_max_lr_length": (lambda o: S.OneCycleLR(o, [0.1], 10),
                               lambda o: T.OneCycleLR(o, [0.1], 10), ValueError,
                               "max_lr must have the same length"),
    "cyclic_mode": (lambda o: S.CyclicLR(o, 0.01, 0.1, mode="square"),
                    lambda o: T.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError,
                    "mode is invalid"),
    "cyclic_base_lr_length": (lambda o: S.CyclicLR(o, [0.01, 0.02, 0.03], 0.1),
                              lambda o: T.CyclicLR(o, [0.01, 0.02, 0.03], 0.1), ValueError,
                              "base_lr must have the same length"),
    "lambda_length": (lambda o: S.LambdaLR(o, [lambda e: 1.0]),
                      lambda o: T.LambdaLR(o, [lambda e: 1.0]), ValueError,
                      "expected 2 lr_lambdas"),
    "multiplicative_not_callable": (lambda o: S.MultiplicativeLR(o, 0.9),
                                    lambda o: T.MultiplicativeLR(o, 0.9), TypeError,
                                    "should be a function"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_arguments_raise_as_in_torch(name):
    make, tmake, exc, message = BAD[name]
    opt, topt = _opts()
    with pytest.raises(exc, match=message):
        make(opt)
    with pytest.raises(exc):
        tmake(topt)


@pytest.mark.parametrize("which", ["onecycle", "cyclic"])
def test_cycling_momentum_needs_an_optimizer_with_one(which):
    opt, topt = _opts("adagrad")
    make = {"onecycle": (lambda o, m: m.OneCycleLR(o, 0.1, 10)),
            "cyclic": (lambda o, m: m.CyclicLR(o, 0.01, 0.1))}[which]
    with pytest.raises(ValueError, match="must support momentum or beta1.*Adagrad"):
        make(opt, S)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        make(topt, T)


@pytest.mark.parametrize("bad", [
    lambda o: S.PolynomialLR(o, total_iters=0),  # torch divides by zero at the first step
    lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=0),
    lambda o: S.CyclicLR(o, 0.01, 0.1, scale_fn=math.exp, scale_mode="epoch"),
    lambda o: S.LambdaLR(o, [lambda e: 1.0, "x"]),
    lambda o: S.OneCycleLR(object(), 0.1, 10),
])
def test_arguments_torch_lets_through_are_clear_errors(bad):
    opt, _ = _opts()
    with pytest.raises((ValueError, TypeError)):
        bad(opt)


def test_one_cycle_trains_adam_with_its_beta1_as_torch():
    w, tw = cr.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0],
                                                                     requires_grad=True)
    opt, topt = optim.Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.3, total_steps=15)
    tsched = T.OneCycleLR(topt, max_lr=0.3, total_steps=15)
    for _ in range(15):
        for o, x, s in ((opt, w, sched), (topt, tw, tsched)):
            o.zero_grad()
            ((x * x).sum() + x.sum()).backward()
            o.step()
            s.step()
    assert w.numpy().tolist() == pytest.approx(tw.detach().numpy().tolist(), rel=1e-5)
