"""Tiny seeded problems shared by the training-loop tests (fast: a few ms per epoch)."""
from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, datasets


def spirals_data(n: int = 240, seed: int = 3, validation: float = 0.25):
    return datasets.spirals(n, seed=seed, validation=validation, noise=0.1)


def mlp(hidden: int = 32, dropout: float = 0.0, n_in: int = 2, n_out: int = 3):
    layers = [nn.Linear(n_in, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out)]
    return nn.Sequential(*layers)


def make_optimizer(name: str, params):
    if name == "sgd":
        return optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True)
    if name == "adam":
        return optim.Adam(params, lr=0.01, weight_decay=1e-4)
    raise ValueError(name)


def setup(*, seed: int = 0, dropout: float = 0.2, opt: str = "adam", batch_size: int = 16,
          scheduler: bool = False):
    """Everything a run needs, built from one seed in a fixed order (as a script would)."""
    cr.manual_seed(seed)
    data = spirals_data()
    model = mlp(dropout=dropout)
    optimizer = make_optimizer(opt, model.parameters())
    sched = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5) if scheduler else None
    train = DataLoader(data.train, batch_size=batch_size, shuffle=True)
    val = DataLoader(data.validation, batch_size=64)
    test = DataLoader(data.test, batch_size=64)
    return dict(model=model, optimizer=optimizer, scheduler=sched, train=train, val=val,
                test=test, loss_fn=nn.functional.cross_entropy)


def weights(model) -> dict:
    return {k: np.array(v.numpy(), copy=True) for k, v in model.state_dict().items()}


def assert_bitwise_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs: max |Δ| = " \
            f"{np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))}"


TIME_KEYS = ("train_seconds", "epoch_seconds", "samples_per_second")


def without_times(history) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIME_KEYS} for row in history]
