"""The optimizer playground: the notes' claims as assertions on the returned trajectories, the
counting of gradient evaluations, PyTorch's iterates, the figure and bad input."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.optimizer_playground import SURFACES, playground
from chainrule.explain.optimizer_playground.claims import overshoot, reversals

FIRST_ORDER = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "nadam")


@pytest.fixture(scope="module")
def rosenbrock():
    return playground("rosenbrock", optimizers=FIRST_ORDER + ("lbfgs", "newton-cg"))


def test_the_public_name_is_the_function():
    assert callable(cr.explain.playground) and cr.explain.playground is playground
    assert "playground" in dir(cr.explain)


# -- the notes' claims ----------------------------------------------------------------------
def test_plane_momentum_terminal_velocity_is_ten_times_sgd():
    run = playground("plane", optimizers="sgd,momentum,nesterov", steps=100)
    sgd, heavy, nag = run["sgd"], run["momentum"], run["nesterov"]
    assert sgd.lr == heavy.lr == nag.lr
    g = np.array([0.5, 0.25])                    # the plane's constant gradient
    np.testing.assert_allclose(np.diff(sgd.points, axis=0), -sgd.lr * np.tile(g, (100, 1)))
    ratio = heavy.step_lengths[-1] / sgd.step_lengths[-1]
    assert ratio == pytest.approx(10.0, rel=0.01)
    assert nag.step_lengths[-1] / sgd.step_lengths[-1] == pytest.approx(10.0, rel=0.01)
    # early on the step is still building up: (1 - β^k)/(1 - β), 1.9 after two steps
    assert heavy.step_lengths[1] / sgd.step_lengths[1] == pytest.approx(1.9)
    (claim,) = run.claims()
    assert claim.holds is True and claim.numbers["momentum/SGD step ratio"] == pytest.approx(ratio)


def test_plane_too_few_steps_is_reported_not_passed():
    run = playground("plane", optimizers="sgd,momentum", steps=10)
    (claim,) = run.claims()
    assert claim.holds is False                  # 1 - 0.9**10 of the way: ratio 6.5
    assert claim.numbers["momentum/SGD step ratio"] == pytest.approx(10 * (1 - 0.9 ** 10))


def test_valley_nesterov_overshoots_less_and_adaptive_methods_beat_sgd():
    run = playground("valley", optimizers="sgd,momentum,nesterov,rmsprop,adam")
    minimum = SURFACES["valley"].minimum
    assert overshoot(run["nesterov"], minimum) < overshoot(run["momentum"], minimum)
    assert overshoot(run["momentum"], minimum) > 0.1      # momentum really does overshoot
    steps = {n: run.steps_to_goal(n) for n in run}
    assert steps["sgd"] is not None
    assert steps["rmsprop"] < steps["sgd"] and steps["adam"] < steps["sgd"]
    # SGD zigzags across the valley: many reversals; RMSProp and Adam's paths do not turn back
    assert reversals(run["sgd"]) >= 20
    assert reversals(run["rmsprop"]) < 5 and reversals(run["adam"]) < 5
    assert all(c.holds for c in run.claims())


def test_saddle_sgd_stalls_momentum_escapes():
    run = playground("saddle", optimizers="sgd,momentum")
    sgd, heavy = run["sgd"], run["momentum"]
    assert sgd.steps == heavy.steps == 300
    assert abs(sgd.losses[-1] - sgd.losses[-101]) < 1e-3
    assert heavy.final_loss <= 0.0 - 1.0            # the saddle's value f(0, 0) = 0
    assert run.steps_to_goal("sgd") is None and run.steps_to_goal("momentum") < 300
    (claim,) = run.claims()
    assert claim.holds is True


def test_rosenbrock_second_order_in_tens_of_iterations(rosenbrock):
    second = [rosenbrock.steps_to_goal(n) for n in ("lbfgs", "newton-cg")]
    assert all(k is not None and 10 <= k < 100 for k in second)
    first = [rosenbrock.steps_to_goal(n) for n in FIRST_ORDER]
    assert all(k is None or k > max(second) for k in first)
    for name in ("lbfgs", "newton-cg"):
        t = rosenbrock[name]
        np.testing.assert_allclose(t.final_point, [1.0, 1.0], atol=1e-4)
    (claim,) = rosenbrock.claims()
    assert claim.holds is True


# -- what is counted ------------------------------------------------------------------------
def test_gradient_evaluations_match_the_optimizers_own_counters(rosenbrock):
    for name in FIRST_ORDER:                    # one backward per step
        t = rosenbrock[name]
        np.testing.assert_array_equal(t.grad_evals, np.arange(t.steps + 1))
        assert t.func_evals[-1] == 0
    ncg = rosenbrock["newton-cg"]
    c = ncg.counters
    assert c["n_hvps"] > 0 and c["n_func_evals"] > 0
    assert ncg.grad_evals[-1] == c["n_grad_evals"] + c["n_hvps"]  # each H·v counts one
    assert ncg.func_evals[-1] == c["n_func_evals"]
    lbfgs = rosenbrock["lbfgs"]                 # every closure call (line search included)
    assert lbfgs.grad_evals[-1] == lbfgs.counters["func_evals"] > lbfgs.steps


def test_runs_that_stop_early_keep_consistent_arrays():
    run = playground("quadratic", optimizers="lbfgs,newton-cg")
    for t in run.values():
        assert t.stopped == "stopped moving" and t.steps < 300
        n = t.steps + 1
        assert t.points.shape == (n, 2) and t.losses.shape == t.grad_evals.shape == (n,)
        assert t.final_loss < 1e-10


def test_a_diverging_run_is_cut_and_said():
    run = playground("valley", optimizers="sgd", lr=10.0, steps=1000)
    t = run["sgd"]
    assert t.stopped == "diverged" and t.steps < 1000
    assert "diverged" in run.table()


def test_losses_are_the_surface_at_the_points():
    run = playground("beale", optimizers="adam,newton-cg", steps=40)
    s = run.surface
    for t in run.values():
        np.testing.assert_allclose(t.losses, s.values(t.points[:, 0], t.points[:, 1]))


# -- the optimizers are chainrule.optim's, driven as PyTorch's would be -----------------------
def test_paths_match_pytorch():
    torch = pytest.importorskip("torch")
    run = playground("rosenbrock", optimizers="nesterov,adam,lbfgs", steps=60)

    def f(t):
        return (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2

    for name in ("nesterov", "adam", "lbfgs"):
        ours = run[name]
        th = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        if name == "lbfgs":
            opt = torch.optim.LBFGS([th], lr=1, max_iter=1, max_eval=25,
                                    line_search_fn="strong_wolfe")
        elif name == "adam":
            opt = torch.optim.Adam([th], lr=ours.lr)
        else:
            opt = torch.optim.SGD([th], lr=ours.lr, momentum=0.9, nesterov=True)

        def closure():
            opt.zero_grad()
            loss = f(th)
            loss.backward()
            return loss
        path = [th.detach().numpy().copy()]
        for _ in range(ours.steps):
            if name == "lbfgs":
                opt.step(closure)
            else:
                closure()
                opt.step()
            path.append(th.detach().numpy().copy())
        np.testing.assert_allclose(ours.points, np.array(path), rtol=1e-9, atol=1e-10)


# -- surfaces -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_minimum_is_stationary_and_has_its_value(name):
    s = SURFACES[name]
    if not s.bounded:
        assert s.minimum is None
        return
    theta = cr.tensor(np.array(s.minimum), dtype=cr.float64, requires_grad=True)
    loss = s(theta)
    loss.backward()
    assert float(loss) == pytest.approx(s.min_value, abs=1e-12)
    np.testing.assert_allclose(theta.grad.numpy(), 0.0, atol=1e-12)
    grid = s.values(np.array([s.minimum[0], s.start[0]]), np.array([s.minimum[1], s.start[1]]))
    assert grid[1] > grid[0]


# -- options and bad input ------------------------------------------------------------------
def test_learning_rates_one_for_all_or_some_overridden():
    run = playground("quadratic", optimizers="sgd,adam", lr=0.05, steps=5)
    assert run["sgd"].lr == run["adam"].lr == 0.05
    run = playground("quadratic", optimizers="sgd,adam", lr={"adam": 0.02}, steps=5)
    assert run["adam"].lr == 0.02 and run["sgd"].lr == 0.3


def test_start_is_honoured():
    run = playground("quadratic", optimizers=["sgd"], steps=3, start=(1.0, -1.0))
    np.testing.assert_array_equal(run["sgd"].points[0], [1.0, -1.0])


@pytest.mark.parametrize("kwargs, words", [
    (dict(surface="himmelblau"), ["unknown surface 'himmelblau'", "rosenbrock"]),
    (dict(optimizers="sgd,adamax"), ["unknown optimizer 'adamax'", "nadam"]),
    (dict(optimizers=""), ["no optimizers"]),
    (dict(steps=0), ["steps must be a positive integer"]),
    (dict(lr=-0.1), ["learning rate of", "positive"]),
    (dict(optimizers="sgd", lr={"adam": 0.1}), ["'adam'", "not among"]),
    (dict(start=(1.0,)), ["start must be two finite numbers"]),
])
def test_bad_input_is_named(kwargs, words):
    with pytest.raises(ValueError) as info:
        playground(**kwargs)
    for w in words:
        assert w in str(info.value)


def test_unknown_trajectory_lists_the_run():
    run = playground("quadratic", optimizers="sgd", steps=2)
    with pytest.raises(KeyError, match="this run has sgd"):
        run["adam"]


# -- the figure -----------------------------------------------------------------------------
def test_figure_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image
    run = playground("saddle", optimizers="sgd,momentum,lbfgs", steps=120)
    png = run.plot(tmp_path / "saddle.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        im.verify()
        assert im.size[0] > im.size[1] > 300
    svg = run.plot(tmp_path / "saddle.svg").read_text()
    assert "<svg" in svg and "momentum" in svg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saddle.png", "saddle.svg"]


def test_figure_needs_a_known_suffix(tmp_path):
    run = playground("quadratic", optimizers="sgd", steps=2)
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        run.plot(tmp_path / "fig.jpg")
    assert not list(tmp_path.iterdir())


def test_an_optimizer_that_raises_arithmetic_errors_is_stopped_and_said(monkeypatch):
    from chainrule.explain.optimizer_playground import run as run_module

    class Broken(cr.optim.SGD):
        def step(self, closure=None):
            if self.state.get("calls", 0) == 3:
                raise ZeroDivisionError("float division by zero")
            self.state["calls"] = self.state.get("calls", 0) + 1
            return super().step(closure)

    monkeypatch.setitem(run_module.OPTIMIZERS, "sgd", lambda ps, lr: Broken(ps, lr=lr))
    run = playground("quadratic", optimizers="sgd,adam", steps=10)
    assert run["sgd"].steps == 3 and run["adam"].steps == 10
    assert run["sgd"].stopped == "its step raised ZeroDivisionError: float division by zero"
    assert "ZeroDivisionError" in run.table()


def test_optimizer_names_accept_underscores_and_case():
    run = playground("quadratic", optimizers=["Newton_CG", "SGD"], steps=2)
    assert list(run) == ["newton-cg", "sgd"]


def test_a_run_that_flies_off_then_stops_is_diverged_not_stopped_moving():
    from chainrule.explain.optimizer_playground.run import DIVERGED_BEYOND, surface_scale
    run = playground("plane", optimizers="lbfgs", steps=50)
    t = run["lbfgs"]
    assert t.stopped == "diverged", (t.stopped, t.points[-1])
    assert np.abs(t.points[-1]).max() > DIVERGED_BEYOND * surface_scale(run.surface)
    assert "diverged" in run.table() and "stopped moving" not in run.table()
