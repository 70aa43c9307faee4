"""The effect of momentum: plain SGD against SGD with momentum (heavy ball) and Nesterov.

With momentum β the update keeps a running sum of past gradients, m ← β·m + ∇L, θ ← θ − η·m
(PyTorch's form; the notes write m ← β·m − η∇L, θ ← θ + m, the same trajectory). Gradients that
agree from step to step add up — with a constant gradient the step grows to η/(1 − β), ten
times for β = 0.9 — and gradients that flip sign cancel, damping the zig-zag across a narrow
valley.

1. An ill-conditioned quadratic L(θ) = ½(θ₁² + 100·θ₂²): the learning rate is capped by the
   steep direction (η < 2/100), so plain SGD crawls along the shallow one; momentum gets there
   many times sooner.
2. An MLP on the digits, trained for a few epochs with the same small learning rate: the
   training loss falls faster with momentum.

Run:  python examples/momentum.py
"""
from __future__ import annotations

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.data import DataLoader, datasets
from chainrule.train import fit

VARIANTS = {"plain SGD": dict(momentum=0.0), "momentum 0.9": dict(momentum=0.9),
            "Nesterov 0.9": dict(momentum=0.9, nesterov=True)}


def quadratic(lr: float = 0.01, tol: float = 1e-4, max_steps: int = 5000) -> dict:
    """Steps until L(θ) < tol from θ = (1, 1), for each variant."""
    scale = cr.tensor([1.0, 100.0], dtype=cr.float64)
    print(f"L(θ) = ½(θ₁² + 100·θ₂²) from θ = (1, 1), learning rate {lr}: steps to L < {tol:g}")
    steps = {}
    for name, kwargs in VARIANTS.items():
        theta = cr.tensor([1.0, 1.0], dtype=cr.float64, requires_grad=True)
        opt = optim.SGD([theta], lr=lr, **kwargs)
        for k in range(1, max_steps + 1):
            opt.zero_grad()
            loss = 0.5 * (scale * theta * theta).sum()
            loss.backward()
            opt.step()
            if 0.5 * float((scale * theta * theta).sum().item()) < tol:
                break
        steps[name] = k
        print(f"  {name:<13} {k:5d} steps")
    return steps


def digits(epochs: int = 5, lr: float = 0.01, seed: int = 0) -> dict:
    """Training loss after each epoch of SGD on the digits MLP, for each variant."""
    train, test = datasets.digits()
    print(f"\nMLP 64-128-10 on the digits, SGD with learning rate {lr}: training loss per epoch")
    losses = {}
    for name, kwargs in VARIANTS.items():
        cr.manual_seed(seed)
        model = models.mlp([8, 8], 10, hidden=[128])
        history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr,
                                                             **kwargs),
                      DataLoader(train, batch_size=32, shuffle=True), epochs=epochs,
                      test_loader=DataLoader(test, batch_size=500))
        losses[name] = history.series("train_loss")
        shown = "  ".join(f"{v:.3f}" for v in losses[name])
        print(f"  {name:<13} {shown}   (test accuracy {100 * history[-1]['test_accuracy']:.1f}%)")
    return losses


def main(epochs: int = 5) -> tuple[dict, dict]:
    return quadratic(), digits(epochs=epochs)


if __name__ == "__main__":
    main()
