"""The lecture notes' optimizer rules, reproduced and mapped onto PyTorch's forms."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.optim as optim

G = np.array([1.0, -2.0, 0.5])                       # a constant gradient
A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])   # f(θ) = ½θᵀAθ


def _linear_loss(theta):
    return (theta * cr.tensor(G)).sum()               # ∇f = G everywhere


def _quadratic_loss(theta):
    return 0.5 * (theta * (cr.tensor(A) @ theta)).sum()  # ∇f = Aθ


def _steps(opt, theta, loss_fn, n):
    """θ_k for k = 0..n."""
    path = [theta.numpy().copy()]
    for _ in range(n):
        opt.zero_grad()
        loss_fn(theta).backward()
        opt.step()
        path.append(theta.numpy().copy())
    return np.array(path)


def test_momentum_terminal_velocity_is_ten_times_plain_sgd():
    """Constant gradient: m_k = −η(1 + β + … + β^{k−1})∇f → −η∇f/(1 − β), 10× plain SGD's
    step for β = 0.9 (the notes' "terminal velocity")."""
    eta, beta, n = 0.01, 0.9, 300
    plain = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    heavy = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    plain_steps = np.diff(_steps(optim.SGD([plain], lr=eta), plain, _linear_loss, n), axis=0)
    heavy_opt = optim.SGD([heavy], lr=eta, momentum=beta)
    heavy_steps = np.diff(_steps(heavy_opt, heavy, _linear_loss, n), axis=0)

    np.testing.assert_allclose(plain_steps, np.broadcast_to(-eta * G, plain_steps.shape))
    np.testing.assert_allclose(heavy_steps[-1], -eta * G / (1 - beta), rtol=1e-12)
    np.testing.assert_allclose(heavy_steps[-1] / plain_steps[-1], 10.0, rtol=1e-12)
    # the build-up follows the geometric series step by step: η(1 − β^k)/(1 − β)
    k = np.arange(1, n + 1)[:, None]
    np.testing.assert_allclose(heavy_steps, -eta * G * (1 - beta ** k) / (1 - beta), rtol=1e-12)
    # PyTorch's buffer is the velocity in gradient units: v = −m/η
    np.testing.assert_allclose(heavy_opt.state[heavy]["momentum_buffer"],
                               -heavy_steps[-1] / eta, rtol=1e-12)


def test_notes_momentum_recursion_equals_pytorch_sgd_momentum():
    """Notes: m_{k+1} = β·m_k − α∇f(θ_k), θ_{k+1} = θ_k + m_{k+1}. PyTorch: v ← β·v + g,
    θ ← θ − η·v. Same trajectory on a non-constant gradient, with m = −η·v."""
    eta, beta, n = 0.05, 0.9, 100
    theta0 = np.array([1.0, -1.0, 2.0])
    theta, m = theta0.copy(), np.zeros(3)
    notes = [theta.copy()]
    for _ in range(n):
        m = beta * m - eta * (A @ theta)
        theta = theta + m
        notes.append(theta.copy())
    w = cr.tensor(theta0, requires_grad=True)
    opt = optim.SGD([w], lr=eta, momentum=beta)
    np.testing.assert_allclose(_steps(opt, w, _quadratic_loss, n), np.array(notes),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(-eta * opt.state[w]["momentum_buffer"], m, rtol=1e-10,
                               atol=1e-12)


def test_notes_nesterov_is_pytorch_nesterov_at_the_look_ahead_point():
    """Notes: m_{k+1} = β·m_k − α∇f(θ_k + β·m_k), θ_{k+1} = θ_k + m_{k+1}. PyTorch's
    ``nesterov=True`` parameters are the look-ahead points φ_k = θ_k + β·m_k."""
    eta, beta, n = 0.05, 0.9, 100
    theta0 = np.array([1.0, -1.0, 2.0])
    theta, m = theta0.copy(), np.zeros(3)
    look_ahead = [theta + beta * m]
    for _ in range(n):
        m = beta * m - eta * (A @ (theta + beta * m))
        theta = theta + m
        look_ahead.append(theta + beta * m)
    w = cr.tensor(theta0, requires_grad=True)
    path = _steps(optim.SGD([w], lr=eta, momentum=beta, nesterov=True), w, _quadratic_loss, n)
    np.testing.assert_allclose(path, np.array(look_ahead), rtol=1e-10, atol=1e-12)
    # and it does converge faster than heavy-ball momentum on this problem
    v = cr.tensor(theta0, requires_grad=True)
    heavy = _steps(optim.SGD([v], lr=eta, momentum=beta), v, _quadratic_loss, n)
    assert np.linalg.norm(path[-1]) < np.linalg.norm(heavy[-1])


def test_notes_rmsprop_with_square_root_is_pytorch_rmsprop():
    """Notes (read with √, as in Hinton's RMSprop): s ← γ·s + g², θ ← θ − a·g/√s. PyTorch's
    v = (1 − γ)·s, so this is RMSprop(alpha=γ, lr=a·√(1 − γ), eps → 0; chainrule requires eps > 0, so 1e-30)."""
    a, gamma, n = 0.01, 0.9, 100
    theta0 = np.array([1.0, -1.0, 2.0])
    theta, s = theta0.copy(), np.zeros(3)
    notes = [theta.copy()]
    for _ in range(n):
        g = A @ theta
        s = gamma * s + g * g
        theta = theta - a * g / np.sqrt(s)
        notes.append(theta.copy())
    w = cr.tensor(theta0, requires_grad=True)
    opt = optim.RMSprop([w], lr=a * np.sqrt(1 - gamma), alpha=gamma, eps=1e-30)
    np.testing.assert_allclose(_steps(opt, w, _quadratic_loss, n), np.array(notes),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-2, 1e2])
def test_rmsprop_step_ignores_the_loss_scale_the_literal_notes_rule_does_not(scale):
    """Why the square root: the RMSprop step is unchanged when the loss is scaled by c, while
    the notes' literal g/s step shrinks by 1/c (g/s has the units of 1/gradient)."""
    w1 = cr.tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True)
    w2 = cr.tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True)
    base = _steps(optim.RMSprop([w1], lr=0.01, eps=1e-30), w1, _quadratic_loss, 20)
    scaled = _steps(optim.RMSprop([w2], lr=0.01, eps=1e-30), w2,
                    lambda t: scale * _quadratic_loss(t), 20)
    np.testing.assert_allclose(scaled, base, rtol=1e-10, atol=1e-12)
    # The notes' literal rule, s = g*g and step = lr*g/s, run through the library: SGD on a
    # gradient replaced by g/(g*g) takes the step lr*g/(g*g), and scaling the loss by c shrinks
    # that first step by 1/c, unlike RMSprop above.
    def literal_first_step(c):
        w = cr.tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True)
        opt = optim.SGD([w], lr=0.01)
        (c * _quadratic_loss(w)).backward()
        w.grad = w.grad / (w.grad * w.grad)
        opt.step()
        return np.array([1.0, -1.0, 2.0]) - w.detach().numpy()
    step, step_scaled = literal_first_step(1.0), literal_first_step(scale)
    np.testing.assert_allclose(step_scaled, step / scale, rtol=1e-10)
    assert not np.allclose(step_scaled, step)
