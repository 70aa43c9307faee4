"""A training step on the GPU copies nothing between host and device but the batch (in) and the
logged loss's ``.item()`` (out): no target checks, fused-path choices, clipping coefficients or
optimizer scalars waiting for the device. The health monitor is off (it samples on purpose)."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from ._transfers import counting_transfers

MODELS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(32, 5)), (16, 20)),
    "cnn1d": (lambda: nn.Sequential(nn.Conv1d(1, 8, 5, stride=2, padding=1), nn.ReLU(),
                                    nn.Conv1d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                                    nn.Flatten(), nn.Linear(40, 5)), (16, 1, 20)),
    "cnn2d-bn": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5)),
                 (16, 1, 8, 8)),
}
OPTIMIZERS = {
    "sgd": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adamw": lambda p: cr.optim.AdamW(p, lr=1e-3),
    "rmsprop": lambda p: cr.optim.RMSprop(p, lr=1e-3, centered=True),
}


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_one_training_step_copies_only_the_batch_and_the_logged_loss(model_name, opt_name):
    build, shape = MODELS[model_name]
    cr.manual_seed(0)
    model = build().to("cuda")
    opt = OPTIMIZERS[opt_name](model.parameters())
    rng = np.random.default_rng(0)
    x_host = rng.standard_normal(shape).astype(np.float32)
    y_host = rng.integers(0, 5, shape[0])

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        cr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    step(cr.tensor(x_host, device="cuda"), cr.tensor(y_host, device="cuda")).item()  # warm-up
    cr.cuda.synchronize()
    with counting_transfers() as log:
        x = cr.tensor(x_host, device="cuda")
        y = cr.tensor(y_host, device="cuda")
        uploads = log.count("h2d")
        loss = step(x, y)
        inside = list(log.events)
        value = loss.item()
    assert uploads == 2, f"the batch should be two host→device copies: {log}"
    assert inside == log.events[:len(inside)]
    assert [e for e in inside if e[0] == "d2h"] == [], f"a device→host copy in the step: {log}"
    assert inside[uploads:] == [], f"a host→device copy in the step: {inside[uploads:]}"
    assert log.count("d2h") == 1 and log.events[-1] == ("d2h", "Tensor.item"), log
    assert np.isfinite(value)


def test_the_counter_sees_each_kind_of_transfer(cupy):
    """The counter itself can fail: every wrapped path is noticed."""
    a = cupy.arange(3.0)
    t = cr.tensor([1.5], device="cuda")
    with counting_transfers() as log:
        a.get()
        cupy.asnumpy(a)
        float(a[0])
        t.item()
        cupy.asarray(np.ones(2))
    kinds = [what for _, what in log.events]
    assert log.count("h2d") == 1 and "cupy.asarray" in kinds
    assert "ndarray.get" in kinds and "cupy.asnumpy" in kinds and "Tensor.item" in kinds
    assert any("float" in k or "__float__" in k for k in kinds), kinds
