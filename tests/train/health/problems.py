"""Small planted pathologies for the health tests: deep tanh stacks and a ReLU MLP on a
synthetic four-class problem, trained with the GradientHealth callback."""
from __future__ import annotations

import json

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import fit
from chainrule.train.callbacks import GradientHealth

WIDTH, DEPTH, FEATURES, CLASSES = 64, 20, 16, 4


def tanh_stack(std: float, seed: int = 0) -> nn.Sequential:
    """20 tanh layers of width 64 with N(0, std²) weights and zero biases (the notes' demo),
    then a linear read-out."""
    cr.manual_seed(seed)
    mods: list = []
    for _ in range(DEPTH):
        lin = nn.Linear(WIDTH, WIDTH)
        nn.init.normal_(lin.weight, 0.0, std)
        nn.init.zeros_(lin.bias)
        mods += [lin, nn.Tanh()]
    mods.append(nn.Linear(WIDTH, CLASSES))
    return nn.Sequential(*mods)


def relu_mlp(seed: int = 0, second_bias: float | None = None) -> nn.Sequential:
    """16 → 32 → 32 → 4 with ReLUs, He-initialised; ``second_bias`` sets every bias of the
    second layer (−10 kills its units)."""
    cr.manual_seed(seed)
    m = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                      nn.Linear(32, CLASSES))
    for lin in (m[0], m[2]):
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
    if second_bias is not None:
        with cr.no_grad():
            m[2].bias[:] = second_bias
    return m


def batch(n: int = 64, features: int = FEATURES, seed: int = 0):
    """Standard-normal inputs labelled by a random linear teacher (arrays)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x @ rng.standard_normal((features, CLASSES))).argmax(1)
    return x, y


def train(model, optimizer, tmp_path, *, epochs: int = 3, features: int = FEATURES,
          every: int = 1) -> tuple[GradientHealth, dict, list[str]]:
    """fit with the monitor on (256 items, batches of 32); returns the callback, the
    health.json it wrote and the warning lines."""
    x, y = batch(256, features)
    loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=32,
                        shuffle=True)
    lines: list[str] = []
    cb = GradientHealth(every=every, out_dir=tmp_path, warn=lines.append, plot=False)
    with np.errstate(all="ignore"):
        fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=epochs, callbacks=[cb],
            metrics=None, eval_train=False, handle_sigint=False)
    doc = json.loads((tmp_path / "health.json").read_text())
    return cb, doc, lines


def kinds(doc: dict) -> dict[str, str | None]:
    """kind -> layer of the verdicts in a health.json document."""
    return {v["kind"]: v["layer"] for v in doc["verdicts"]}
