"""The notes' worked examples, computed by backward() and checked against the hand derivation.

1. f(x, y) = x²y + y + 2 at (3, 4): one forward pass and one backward pass give every partial
   derivative, ∂f/∂x = 2xy = 24 and ∂f/∂y = x² + 1 = 10.
2. Neural networks as real circuits (each gate passes the gradient it receives, times its
   local derivative, back to its inputs; where a value feeds several gates the gradients add):
   single neuron, two neurons, multiple inputs, weights on the edges, a sigmoid, several paths.
3. Momentum's terminal velocity: with a constant gradient g the momentum buffer tends to
   g / (1 − β), ten times the plain step for β = 0.9.

Run:  python examples/worked_examples.py
"""
from __future__ import annotations

import math

import chainrule as cr


def leaf(value: float) -> cr.Tensor:
    return cr.tensor(value, dtype=cr.float64, requires_grad=True)


def sigma_prime(z: float) -> float:
    s = 1 / (1 + math.exp(-z))
    return s * (1 - s)


def report(title: str, rows: list[tuple[str, float, float]]) -> float:
    """Print each derivative from backward() beside the hand formula; return the worst gap."""
    print(title)
    worst = 0.0
    for name, auto, hand in rows:
        print(f"    {name:<10} backward() {auto:+.6f}   by hand {hand:+.6f}")
        worst = max(worst, abs(auto - hand))
    return worst


def x2y() -> float:
    x, y = leaf(3.0), leaf(4.0)
    f = x * x * y + y + 2
    f.backward()
    print(f"f(3, 4) = x²y + y + 2 = {f.item():g}")
    return report("  the notes' example", [("∂f/∂x", x.grad.item(), 2 * 3 * 4),
                                           ("∂f/∂y", y.grad.item(), 3 ** 2 + 1)])


def circuits(x1=2.0, x3=1.5, x4=-0.4, x5=0.3, w3=0.8, w4=1.2) -> float:
    worst = 0.0
    # Single neuron: f = x1 − x2.
    a, b = leaf(x1), leaf(x3)
    (a - b).backward()
    worst = max(worst, report("single neuron  f = x1 − x2",
                              [("∂f/∂x1", a.grad.item(), 1), ("∂f/∂x2", b.grad.item(), -1)]))
    # Two neurons: f = x1 − (x3 + x4); the sum gate copies its gradient to both inputs.
    t = {k: leaf(v) for k, v in dict(x1=x1, x3=x3, x4=x4).items()}
    (t["x1"] - (t["x3"] + t["x4"])).backward()
    worst = max(worst, report("two neurons  f = x1 − (x3 + x4)",
                              [("∂f/∂x3", t["x3"].grad.item(), -1),
                               ("∂f/∂x4", t["x4"].grad.item(), -1)]))
    # Multiple inputs: f = x1 − (x3 + x5 + x4).
    t = {k: leaf(v) for k, v in dict(x1=x1, x3=x3, x4=x4, x5=x5).items()}
    (t["x1"] - (t["x3"] + t["x5"] + t["x4"])).backward()
    worst = max(worst, report("multiple inputs  f = x1 − (x3 + x5 + x4)",
                              [("∂f/∂x5", t["x5"].grad.item(), -1)]))
    # Weights on the edges: f = x1 − (w3·x3 + w4·x4), so ∂f/∂w3 = −x3.
    t = {k: leaf(v) for k, v in dict(x1=x1, x3=x3, x4=x4, w3=w3, w4=w4).items()}
    (t["x1"] - (t["w3"] * t["x3"] + t["w4"] * t["x4"])).backward()
    worst = max(worst, report("weights on the edges  f = x1 − (w3·x3 + w4·x4)",
                              [("∂f/∂w3", t["w3"].grad.item(), -x3),
                               ("∂f/∂x3", t["x3"].grad.item(), -w3)]))
    # A sigmoid unit: f = x1 − σ(net), net = w3·x3 + w4·x4, so ∂f/∂w3 = −σ′(net)·x3.
    net = w3 * x3 + w4 * x4
    t = {k: leaf(v) for k, v in dict(x1=x1, x3=x3, x4=x4, w3=w3, w4=w4).items()}
    (t["x1"] - cr.sigmoid(t["w3"] * t["x3"] + t["w4"] * t["x4"])).backward()
    worst = max(worst, report("sigmoid  f = x1 − σ(w3·x3 + w4·x4)",
                              [("∂f/∂w3", t["w3"].grad.item(), -sigma_prime(net) * x3),
                               ("∂f/∂w4", t["w4"].grad.item(), -sigma_prime(net) * x4)]))
    # Multiple paths: f = (x3 + x5) − σ(w3·x3 + w4·x4); x3 reaches f twice and the two
    # contributions add: ∂f/∂x3 = 1 − σ′(net)·w3.
    t = {k: leaf(v) for k, v in dict(x3=x3, x4=x4, x5=x5, w3=w3, w4=w4).items()}
    ((t["x3"] + t["x5"]) - cr.sigmoid(t["w3"] * t["x3"] + t["w4"] * t["x4"])).backward()
    worst = max(worst, report("multiple paths  f = (x3 + x5) − σ(w3·x3 + w4·x4)",
                              [("∂f/∂x3", t["x3"].grad.item(), 1 - sigma_prime(net) * w3)]))
    return worst


def terminal_velocity(beta: float = 0.9, lr: float = 0.1, steps: int = 100) -> float:
    """SGD with momentum on f(θ) = θ (gradient 1 everywhere): the step θ_k − θ_{k+1} grows
    from lr to lr / (1 − β)."""
    theta = cr.zeros(1, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.SGD([theta], lr=lr, momentum=beta)
    before = 0.0
    for _ in range(steps):
        opt.zero_grad()
        theta.sum().backward()
        opt.step()
        step, before = before - theta.item(), theta.item()
    print(f"momentum β = {beta}: step after {steps} updates {step:.6f}; plain SGD's step {lr}; "
          f"lr / (1 − β) = {lr / (1 - beta):.6f}")
    return abs(step - lr / (1 - beta))


def main() -> float:
    worst = max(x2y(), circuits(), terminal_velocity())
    print(f"largest gap between backward() and the hand derivations: {worst:.2e}")
    return worst


if __name__ == "__main__":
    main()
