"""A run whose dataset augments each sample from its random stream resumes exactly: the
evaluation pass over the training data follows the training loader's streams instead of
drawing a seed from chainrule's default generator (which would shift the dropout masks)."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, Dataset, sample_generator
from chainrule.train import LambdaCallback, ModelCheckpoint, fit

_rng = np.random.default_rng(0)
X = _rng.standard_normal((120, 8)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


class Jittered(Dataset):
    """Item i: X[i] plus noise from sample i's stream."""

    def __len__(self):
        return len(X)

    def __getitem__(self, i):
        noise = sample_generator().standard_normal(8).astype(np.float32)
        return X[i] + 0.5 * noise, Y[i]


def _run(folder, workers: int, resume=None, stop_at=None):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    loader = DataLoader(Jittered(), batch_size=16, shuffle=True, generator=5,
                        num_workers=workers)

    def maybe_stop(trainer, batch, logs):
        if trainer.global_step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)
    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), loader,
                  epochs=3, callbacks=[ModelCheckpoint(folder, monitor="train_loss"),
                                       LambdaCallback(on_batch_end=maybe_stop)],
                  resume=resume)
    weights = np.concatenate([p._data.ravel() for p in model.parameters()])
    rows = [{k: v for k, v in r.items() if "second" not in k} for r in history]
    return weights, rows, history.stop_reason


@pytest.mark.parametrize("workers", [0, 2])
def test_ctrl_c_and_resume_equal_the_uninterrupted_run(tmp_path, workers, terminal_sigint):
    whole, whole_rows, _ = _run(tmp_path / "whole", workers)
    _, _, reason = _run(tmp_path / "part", workers, stop_at=8 + 3)   # mid-epoch 2
    assert reason == "interrupted"
    resumed, resumed_rows, _ = _run(tmp_path / "again", workers,
                                    resume=tmp_path / "part" / "last.safetensors")
    np.testing.assert_array_equal(resumed, whole)
    assert resumed_rows == whole_rows       # train_loss of the evaluation pass included
