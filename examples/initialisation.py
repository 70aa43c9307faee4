"""Why initialisation matters: the spread of activations through a deep network, and what it
does to training.

1. Push a batch through 10 layers of width 256 and print the standard deviation of each
   layer's activations. With weights N(0, 1) tanh units saturate (|h| ≈ 1, so tanh′ ≈ 0);
   with N(0, 0.01²) the signal shrinks ~16× per layer and vanishes; Xavier (std √(1/fan_in)
   for tanh-like units, here with tanh's gain 5/3) and He (√(2/fan_in), for ReLU) keep it
   steady.
2. Train the same deep tanh MLP on the digits with each scheme for a few epochs. All-zero
   weights never break the symmetry (every hidden unit gets the same gradient, here zero);
   tiny weights start with vanishing gradients (the first layer's
   gradient is about a millionth of Xavier's); Xavier and Kaiming learn at once.

Run:  python examples/initialisation.py
"""
from __future__ import annotations

import math

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.data import DataLoader, datasets
from chainrule.train import fit

SCHEMES = {  # name: (initialiser of a (out, in) weight, activation)
    "N(0, 1)": (lambda w: nn.init.normal_(w, 0.0, 1.0), cr.tanh),
    "N(0, 0.01²)": (lambda w: nn.init.normal_(w, 0.0, 0.01), cr.tanh),
    "Xavier, tanh": (lambda w: nn.init.xavier_normal_(w, gain=5 / 3), cr.tanh),
    "He, ReLU": (lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), cr.relu),
}


def activation_spread(depth: int = 10, width: int = 256, batch: int = 500) -> dict:
    """Std of each layer's activations for each scheme (unit-variance inputs)."""
    x = cr.randn(batch, width)
    spreads = {}
    print(f"std of the activations through {depth} layers of width {width}:")
    for name, (init, act) in SCHEMES.items():
        h, stds = x, []
        with cr.no_grad():
            for _ in range(depth):
                w = cr.empty(width, width)
                init(w)
                h = act(h @ w.T)
                stds.append(float(h.std().item()))
        spreads[name] = stds
        shown = "  ".join(f"{s:.2g}" for s in stds)
        print(f"  {name:<13} {shown}")
    return spreads


def initial_gradient(model: nn.Module, train) -> float:
    """‖∂L/∂W1‖ of the first layer on 256 training items, before any update."""
    x, y = cr.tensor(train.inputs[:256]), cr.tensor(train.targets[:256])
    nn.CrossEntropyLoss()(model(x), y).backward()
    first = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight
    norm = math.sqrt(float((first.grad ** 2).sum().item()))
    model.zero_grad()
    return norm


def training(epochs: int = 3, depth: int = 5, width: int = 64, seed: int = 0) -> dict:
    """Test accuracy of a deep tanh MLP on the digits after a few epochs, per init scheme."""
    train, test = datasets.digits()
    results = {}
    print(f"\n{depth} tanh layers of {width} units, {epochs} epochs of Adam on the digits:")
    for scheme in ("zeros", "normal", "xavier_normal", "kaiming_normal", "default"):
        cr.manual_seed(seed)
        model = models.mlp([8, 8], 10, hidden=[width] * depth, activation="tanh", init=scheme)
        g_first = initial_gradient(model, train)
        history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
                      DataLoader(train, batch_size=32, shuffle=True), epochs=epochs,
                      test_loader=DataLoader(test, batch_size=500), eval_train=False)
        acc = history[-1]["test_accuracy"]
        results[scheme] = acc
        print(f"  {scheme:<15} |∂L/∂W1| at the start {g_first:.1e}   test accuracy after "
              f"{epochs} epochs {100 * acc:5.1f}%")
    return results


def main(epochs: int = 3) -> tuple[dict, dict]:
    cr.manual_seed(0)
    return activation_spread(), training(epochs=epochs)


if __name__ == "__main__":
    main()
