"""A small fit() run shared by tests/distributed/test_train_mpi.py: the same function runs in
the test's own process (a world of one) and on every rank under ``mpiexec``."""
from __future__ import annotations

import numpy as np


def make_run(seed: int = 0, n: int = 75, batch: int = 16, dropout: float = 0.3,
             momentum: float = 0.9, batch_norm: bool = False):
    """(trainer pieces, loaders) for a float64 MLP with dropout on synthetic 3-class data; the
    global batch ``batch`` does not divide ``n``, so the last batch is short."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.data import DataLoader, TensorDataset
    cr.set_default_dtype(np.float64)
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.8)
    norm = [nn.BatchNorm1d(12)] if batch_norm else []
    model = nn.Sequential(nn.Linear(6, 12), *norm, nn.ReLU(), nn.Dropout(dropout),
                          nn.Linear(12, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    train = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=batch,
                       shuffle=True, generator=seed + 1)
    val = DataLoader(TensorDataset(cr.tensor(x[:29]), cr.tensor(y[:29])), batch_size=7)
    return model, nn.CrossEntropyLoss(), opt, train, val


def run_fit(epochs: int = 3, callbacks=(), plateau: bool = False, **kwargs) -> dict:
    """Train; the final parameters (lists of float64), the history rows and why it stopped.
    ``plateau``: with ReduceLROnPlateau and EarlyStopping deciding on ``val_loss``."""
    import chainrule as cr
    from chainrule.train import EarlyStopping, Trainer
    model, loss_fn, opt, train, val = make_run(**kwargs)
    scheduler = None
    if plateau:
        scheduler = cr.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
        callbacks = list(callbacks) + [EarlyStopping("val_loss", patience=2)]
    trainer = Trainer(model, loss_fn, opt, handle_sigint=False, callbacks=callbacks,
                      scheduler=scheduler)
    history = trainer.fit(train, epochs=epochs, val_loader=val)
    return {"params": {k: v.detach().numpy().tolist() for k, v in model.state_dict().items()},
            "history": [dict(r) for r in history], "world": trainer.world_size,
            "stop_reason": history.stop_reason,
            "modules": [type(m).__name__ for m in model.modules()]}


def max_param_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in a)
