"""The Optimizer base: construction, validation, zero_grad, step(closure), in-place updates."""
from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

from .configs import CONFIGS, IDS

INVALID = [
    (optim.SGD, dict(lr=-0.1), "lr", -0.1),
    (optim.SGD, dict(lr=float("nan")), "lr", float("nan")),
    (optim.SGD, dict(lr=0.1, momentum=-0.9), "momentum", -0.9),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), "weight_decay", -1e-4),
    (optim.SGD, dict(lr=0.1, nesterov=True), "momentum", 0),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening", 0.1),
    (optim.Adagrad, dict(lr=-1.0), "lr", -1.0),
    (optim.Adagrad, dict(lr_decay=-0.5), "lr_decay", -0.5),
    (optim.Adagrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value", -0.1),
    (optim.Adagrad, dict(eps=-1e-10), "eps", -1e-10),
    (optim.Adagrad, dict(weight_decay=-2.0), "weight_decay", -2.0),
    (optim.Adadelta, dict(rho=1.5), "rho", 1.5),
    (optim.Adadelta, dict(rho=-0.1), "rho", -0.1),
    (optim.Adadelta, dict(eps=-1e-6), "eps", -1e-6),
    (optim.Adadelta, dict(lr=-1.0), "lr", -1.0),
    (optim.RMSprop, dict(alpha=-0.99), "alpha", -0.99),
    (optim.RMSprop, dict(momentum=-0.1), "momentum", -0.1),
    (optim.RMSprop, dict(eps=-1e-8), "eps", -1e-8),
    (optim.RMSprop, dict(weight_decay=-0.1), "weight_decay", -0.1),
    (optim.Adam, dict(lr=-1e-3), "lr", -1e-3),
    (optim.Adam, dict(betas=(1.0, 0.999)), "betas[0]", 1.0),
    (optim.Adam, dict(betas=(-0.1, 0.999)), "betas[0]", -0.1),
    (optim.Adam, dict(betas=(0.9, 1.0)), "betas[1]", 1.0),
    (optim.Adam, dict(betas=(0.9,)), "betas", (0.9,)),
    (optim.Adam, dict(eps=-1e-8), "eps", -1e-8),
    (optim.Adam, dict(weight_decay=-0.01), "weight_decay", -0.01),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay", -0.01),
    (optim.AdamW, dict(betas=(0.9, 1.5)), "betas[1]", 1.5),
    (optim.NAdam, dict(momentum_decay=-4e-3), "momentum_decay", -4e-3),
    (optim.NAdam, dict(betas=(0.9, -0.5)), "betas[1]", -0.5),
    (optim.NAdam, dict(eps=-1.0), "eps", -1.0),
]


@pytest.mark.parametrize("cls,kwargs,arg,value", INVALID,
                         ids=[f"{c.__name__}-{a}={v}" for c, _, a, v in INVALID])
def test_invalid_hyperparameters_name_the_argument_and_value(cls, kwargs, arg, value):
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(ValueError) as info:
        cls([w], **kwargs)
    msg = str(info.value)
    assert cls.__name__ in msg and arg in msg and repr(value) in msg, msg
    # a parameter group's own value is checked too
    with pytest.raises(ValueError, match=re.escape(arg)):
        cls([{"params": [w], **kwargs}])


def test_valid_edge_values_are_accepted():
    """Boundary values are kept as given and step as the formulas say (lr 0: no change)."""
    w = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    sgd = optim.SGD([w], lr=0.0, momentum=0.0)
    adam = optim.Adam([w], betas=(0.0, 0.0), eps=1e-30)
    assert (sgd.param_groups[0]["lr"], sgd.param_groups[0]["momentum"]) == (0.0, 0.0)
    assert adam.param_groups[0]["betas"] == (0.0, 0.0) and adam.param_groups[0]["eps"] == 1e-30
    w.grad = cr.tensor([0.5, 0.5, -0.5])
    sgd.step()
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0, 3.0])
    adam.step()   # betas 0: m = g, v = g², so the step is lr·g/|g| = ±lr
    np.testing.assert_allclose(w.numpy(), [1.0 - 1e-3, -2.0 - 1e-3, 3.0 + 1e-3], rtol=1e-6)


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW, optim.NAdam, optim.Adagrad,
                                 optim.Adadelta, optim.RMSprop])
def test_eps_must_be_positive(cls):
    # Issue #4 asks for eps <= 0 to be rejected (PyTorch accepts 0, which can divide by zero).
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"eps: 0\.0 \(must be > 0\)"):
        cls([w], eps=0.0)
    optim.Adadelta([w], rho=1.0)
    optim.RMSprop([w], alpha=0.0)


def test_non_numeric_hyperparameter_is_a_clear_type_error():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="SGD: lr must be a real number, got '0.1'"):
        optim.SGD([w], lr="0.1")


def test_bad_params_arguments():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": w})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="got a Tensor"):
        optim.Adam(w)
    with pytest.raises(TypeError, match="not a set"):
        optim.Adam({w})
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.zeros(3)])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([w * 2])
    with pytest.raises(TypeError, match="int64"):
        optim.Adam([cr.zeros(3, dtype=cr.int64)])


def test_generator_of_parameters_and_group_defaults():
    ws = [cr.zeros(2, requires_grad=True) for _ in range(3)]
    opt = optim.RMSprop((w for w in ws), lr=0.1)
    assert opt.param_groups[0]["params"] == ws
    assert opt.param_groups[0]["alpha"] == 0.99 and opt.param_groups[0]["centered"] is False
    assert "RMSprop (" in repr(opt) and "alpha: 0.99" in repr(opt)


def test_required_hyperparameter_in_a_subclass():
    class Toy(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, dict(lr=lr))

        def _update_group(self, group):
            for p in group["params"]:
                if p.grad is not None:
                    p.data -= group["lr"] * p.grad.numpy()
                    p._bump_version()

    w = cr.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Toy([w])
    opt = Toy([{"params": [w], "lr": 0.5}])
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])


def test_zero_grad():
    w = cr.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.all(grad.numpy() == 0)
    opt.zero_grad()
    assert w.grad is None
    opt.zero_grad()  # no gradient at all is fine


def test_step_with_closure_returns_loss_and_records_gradients_under_no_grad():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(cr.is_grad_enabled())
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert calls == [True] and loss.item() == 5.0
    np.testing.assert_allclose(w.numpy(), [0.5, -1.0])  # w − 0.25·2w
    assert opt.step() is None


@pytest.mark.parametrize("cid,name,kwargs", CONFIGS, ids=IDS)
def test_update_in_place_bumps_version_and_skips_params_without_grad(cid, name, kwargs):
    w = cr.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    frozen = cr.ones(4, requires_grad=True)
    opt = getattr(optim, name)([w, frozen], **kwargs)
    buffer, versions = w.numpy(), [w._version]
    for _ in range(3):
        opt.zero_grad()
        ((w * w).sum() + (w ** 3).sum()).backward()
        opt.step()
        versions.append(w._version)
    assert w.numpy() is buffer and w.dtype == np.float32
    assert all(b > a for a, b in zip(versions, versions[1:]))  # every step marks w modified
    assert not np.allclose(w.numpy(), np.linspace(-1, 1, 6).reshape(2, 3))
    assert frozen._version == 0 and np.all(frozen.numpy() == 1) and frozen not in opt.state


def test_step_between_forward_and_backward_is_caught_by_autograd():
    """The optimizer's version bump lets the engine refuse a graph whose saved parameter was
    overwritten by a step (instead of silently using the new values)."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()  # saves w for backward
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_gradient_of_the_wrong_shape_is_a_clear_error():
    w = cr.zeros(3, requires_grad=True)
    w.grad = cr.ones(2)
    with pytest.raises(RuntimeError, match=r"shape \(3,\) has a gradient of shape \(2,\)"):
        optim.Adam([w]).step()
