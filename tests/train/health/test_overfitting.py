"""The overfitting rule: judged on the whole history when training ends, a rise of the
smoothed validation loss that is large against its minimum AND against its epoch-to-epoch
noise, still there at the end, while the training loss falls."""
from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import Trainer
from chainrule.train.callbacks import GradientHealth
from chainrule.train.health import HealthRecord
from chainrule.train.health import thresholds as T
from chainrule.train.health.verdicts import overfitting_verdict

# A noisy plateau from epoch 4, then a steady rise from epoch 16 while training loss falls.
VAL = [2.0, 1.5, 1.2] + [1.0, 1.02, 0.99, 1.01] * 3 + [1.1, 1.25, 1.4, 1.5, 1.6, 1.7]

# The reviewer's --dataset blobs run (issue #21): test error 0 % throughout; the validation
# loss ends 44 % above its smoothed minimum, a rise of 0.01 on 144 items.
BLOBS_VAL = [0.1108, 0.0971, 0.0915, 0.0749, 0.0736, 0.0629, 0.0717, 0.0445, 0.0718, 0.0361,
             0.0474, 0.0343, 0.0802, 0.0653, 0.0393, 0.0403, 0.0333, 0.0474, 0.0264, 0.0388,
             0.0313, 0.0383, 0.0517, 0.0383, 0.0215, 0.0215, 0.0211, 0.0228, 0.0261, 0.0259,
             0.0283, 0.0281, 0.0282, 0.0264, 0.0298, 0.0308, 0.0315, 0.0311, 0.0309, 0.0309]
BLOBS_TRAIN = [0.0474, 0.0221, 0.0175, 0.0144, 0.0127, 0.0110, 0.0105, 0.0098, 0.0096, 0.0080,
               0.0064, 0.0062, 0.0097, 0.0072, 0.0046, 0.0043, 0.0038, 0.0063, 0.0043, 0.0037,
               0.0031, 0.0032, 0.0042, 0.0031, 0.0026, 0.0025, 0.0025, 0.0023, 0.0023, 0.0023,
               0.0023, 0.0023, 0.0023, 0.0022, 0.0023, 0.0023, 0.0024, 0.0023, 0.0023, 0.0023]


def _rows(val, train=None):
    train = train or [2.0 - 0.08 * i for i in range(len(val))]
    return [{"epoch": i + 1, "val_loss": v, "train_loss": t}
            for i, (v, t) in enumerate(zip(val, train))]


def test_a_sustained_rise_names_the_epoch_where_the_gap_opened():
    v = overfitting_verdict(_rows(VAL))
    assert v.kind == "overfitting" and v.layer is None
    assert v.epoch == 7                                  # the smoothed minimum is epoch 6
    assert "minimum 1 at epoch 6" in v.evidence and "1.6 at epoch 21" in v.evidence
    assert "gap opened at epoch 7" in v.evidence and "spread" in v.evidence


def test_a_rise_that_recovers_by_the_end_is_no_verdict():
    rows = _rows(VAL[:-3] + [1.0, 1.0, 1.0])
    assert overfitting_verdict(rows) is None


def test_a_rise_on_a_tiny_noisy_loss_is_no_verdict():
    """44 % above the minimum, but 1.3 times the epoch-to-epoch spread: noise."""
    rows = _rows(BLOBS_VAL, BLOBS_TRAIN)
    val_end, val_min = np.median(BLOBS_VAL[-3:]), 0.0215
    assert val_end > (1 + T.OVERFIT_RISE) * val_min        # the relative rise alone fires
    assert overfitting_verdict(rows) is None


def test_no_verdict_without_a_falling_training_loss_or_a_validation_loss():
    assert overfitting_verdict(_rows(VAL, [1.0] * len(VAL))) is None
    assert overfitting_verdict(_rows(VAL[:3])) is None
    assert overfitting_verdict([{"epoch": 1, "train_loss": 1.0}] * 10) is None


def test_the_record_rejudges_a_carried_overfitting_verdict():
    """A resumed run whose validation loss recovered loses the earlier run's verdict."""
    rec = HealthRecord()
    assert [v.kind for v in rec.judge_history(_rows(VAL))] == ["overfitting"]
    assert rec.judge_history(_rows(VAL)) == []            # held already: not new
    assert [v.kind for v in rec.verdicts] == ["overfitting"]
    assert rec.judge_history(_rows(VAL + [1.0] * 6)) == []
    assert rec.verdicts == []


def test_the_callback_judges_overfitting_once_at_the_end():
    """Within the run the rise is there from epoch 18; the callback waits for the end and
    warns once."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 2, 64))
    m = nn.Sequential(nn.Linear(4, 2))
    lines: list[str] = []
    cb = GradientHealth(every=1, warn=lines.append, plot=False)
    seen: list[list[str]] = []

    class Planted:                         # replaces the evaluated val loss by VAL
        order = 65

        def on_epoch_end(self, trainer, epoch, logs):
            logs["val_loss"], logs["train_loss"] = VAL[epoch - 1], 2.0 - 0.08 * (epoch - 1)
            seen.append([v.kind for v in cb.verdicts])

    tr = Trainer(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=1e-3),
                 callbacks=[cb, Planted()], metrics=None, handle_sigint=False)
    tr.fit(DataLoader(TensorDataset(x, y), batch_size=64), epochs=len(VAL))
    assert all(kinds == [] for kinds in seen)
    assert [v.kind for v in cb.verdicts] == ["overfitting"]
    assert len(lines) == 1 and lines[0].startswith(f"health: epoch {len(VAL)}: overfitting")
