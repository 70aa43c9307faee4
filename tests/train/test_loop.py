"""fit / Trainer / evaluate / History / metrics on a small synthetic problem."""
from __future__ import annotations

import json
import math
import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import (Accuracy, History, LambdaCallback, Trainer, evaluate, fit,
                             resolve_metrics)
from chainrule.train.evaluation import eval_loader

from .problems import setup


def test_fit_learns_and_records_every_epoch():
    s = setup(dropout=0.0)
    handler = signal.getsignal(signal.SIGINT)
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=12, val_loader=s["val"],
            test_loader=s["test"])
    assert signal.getsignal(signal.SIGINT) is handler  # restored after fit
    assert isinstance(h, History) and len(h) == 12 and h.stop_reason is None
    assert [r["epoch"] for r in h] == list(range(1, 13))
    expected = {"epoch", "lr", "train_running_loss", "train_loss", "train_accuracy",
                "train_error_rate", "val_loss", "val_accuracy", "val_error_rate", "test_loss",
                "test_accuracy", "test_error_rate", "train_seconds", "epoch_seconds",
                "samples_per_second"}
    assert set(h[0]) == expected
    for row in h:
        for split in ("train", "val", "test"):
            assert row[f"{split}_accuracy"] + row[f"{split}_error_rate"] == pytest.approx(1.0)
        assert row["samples_per_second"] > 0 and row["epoch_seconds"] >= row["train_seconds"] > 0
    assert h[-1]["train_loss"] < 0.6 * h[0]["train_loss"]
    assert h[-1]["val_loss"] < 0.7 * h[0]["val_loss"]
    assert h[-1]["train_error_rate"] < h[0]["train_error_rate"]
    assert h.series("train_running_loss")[-1] < h.series("train_running_loss")[0]
    back = History.from_json(json.dumps(h.to_dict()))  # JSON-serialisable as it stands
    assert back == h
    assert s["train"].epoch == 12  # evaluation never iterated the shuffling training loader


def test_train_loss_is_a_full_eval_mode_pass_not_the_running_mean():
    s = setup(dropout=0.5)
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, metrics=())
    final = evaluate(s["model"], eval_loader(s["train"]), s["loss_fn"], metrics=())
    assert h[-1]["train_loss"] == final["loss"]
    assert h[-1]["train_loss"] != h[-1]["train_running_loss"]
    assert "train_accuracy" not in h[-1] and "val_loss" not in h[-1]


def test_running_loss_is_the_sample_weighted_mean_of_minibatch_losses():
    s = setup(dropout=0.0)
    losses = []
    cb = LambdaCallback(on_batch_end=lambda tr, b, logs: losses.append((logs["loss"],
                                                                        logs["size"])))
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1, callbacks=[cb])
    n = sum(size for _, size in losses)
    assert n == len(s["train"].dataset)
    assert h[0]["train_running_loss"] == pytest.approx(sum(l * k for l, k in losses) / n)


def test_evaluate_matches_a_hand_computation_and_restores_the_mode():
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    model.train()
    out = evaluate(model, loader, nn.functional.cross_entropy)
    assert model.training
    w, b = model[0].weight.numpy().astype(np.float64), model[0].bias.numpy().astype(np.float64)
    logits = x @ w.T + b  # no dropout: eval mode
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert out["loss"] == pytest.approx(-logp[np.arange(10), y].mean(), rel=1e-5)
    acc = np.mean(logits.argmax(1) == y)
    assert out["accuracy"] == pytest.approx(acc) and out["error_rate"] == pytest.approx(1 - acc)
    assert out["samples"] == 10


def test_accuracy_metric_cases():
    m = Accuracy()
    m.update(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    assert m.compute() == pytest.approx({"accuracy": 2 / 3, "error_rate": 1 / 3})
    m.reset()  # one logit per sample: class 1 where the logit is positive
    m.update(np.array([[0.5], [-1.0], [2.0], [-0.1]]), np.array([[1.0], [0.0], [0.0], [0.0]]))
    assert m.compute()["accuracy"] == 0.75
    m.reset()  # soft / one-hot targets
    m.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert m.compute()["error_rate"] == 0.5
    with pytest.raises(ValueError, match="regression"):
        Accuracy().update(np.array([[0.3], [0.2]]), np.array([[0.37], [1.5]]))
    with pytest.raises(ValueError, match="shape"):
        Accuracy().update(np.zeros((4, 3)), np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        resolve_metrics(["f1"])
    mae = resolve_metrics([lambda o, t: np.abs(o - t).mean()])[0]
    mae.update(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    mae.update(np.array([4.0]), np.array([0.0]))
    assert mae.compute() == {"<lambda>": pytest.approx(7 / 3)}


def test_regression_with_a_custom_metric_and_numpy_batches():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0]], dtype=np.float32) + 0.5).astype(np.float32)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]  # a plain list works too
    model = nn.Linear(2, 1)
    def mae(o, t):
        return np.abs(o - t).mean()
    h = fit(model, nn.functional.mse_loss, optim.SGD(model.parameters(), lr=0.1), batches,
            epochs=15, metrics=[mae])
    assert h[-1]["train_loss"] < 0.01 * h[0]["train_loss"]
    assert "train_mae" in h[-1] and "train_error_rate" not in h[-1]
    assert model.weight.dtype == np.float32


def test_history_helpers():
    h = History([{"epoch": 1, "val_loss": 0.5, "val_accuracy": 0.7},
                 {"epoch": 2, "val_loss": float("nan"), "val_accuracy": 0.9},
                 {"epoch": 3, "val_loss": 0.4, "val_accuracy": 0.9, "train_loss": 0.1}])
    assert h.best()["epoch"] == 3 and h.best_epoch("val_accuracy", "max") == 2  # tie: earliest
    assert h.series("train_loss") == [None, None, 0.1]
    assert h.keys() == ["epoch", "val_loss", "val_accuracy", "train_loss"]
    assert h.split("val") == {"loss": 0.4, "accuracy": 0.9}
    with pytest.raises(KeyError, match="test_loss"):
        h.best("test_loss")
    h.append({"epoch": np.int64(4), "val_loss": np.float32(0.25)})
    assert type(h[-1]["epoch"]) is int and type(h[-1]["val_loss"]) is float
    assert History.from_json(h.to_json()).to_json() == h.to_json()  # (NaN != NaN)


def test_history_summary():
    rows = [{"epoch": e, "train_running_loss": 1.0, "train_loss": 1.0 / e, "val_loss": 2.0 / e,
             "val_error_rate": 0.1 * e, "train_seconds": 2.0, "epoch_seconds": 2.5,
             "samples_per_second": 100.0 * e} for e in (1, 2, 3)]
    s = History(rows, stop_reason="early_stopping").summary()
    assert s == {"train": {"loss": 1 / 3}, "val": {"loss": 2 / 3, "error_rate": 0.1 * 3},
                 "epoch": 3, "epochs": 3, "seconds": 7.5, "samples_per_second": 200.0,
                 "stop_reason": "early_stopping"}
    assert History(rows, restored_epoch=2).summary()["val"]["loss"] == 1.0


def test_bad_arguments_are_named():
    s = setup()
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=-1)
    with pytest.raises(TypeError, match="optimizer"):
        Trainer(s["model"], s["loss_fn"], object())
    with pytest.raises(TypeError, match="inputs, targets"):
        fit(s["model"], s["loss_fn"], s["optimizer"], [np.zeros((2, 2), np.float32)], epochs=1)
    with pytest.raises(ValueError, match="no batches"):
        fit(s["model"], s["loss_fn"], s["optimizer"], [], epochs=1)
    per_sample = lambda o, t: nn.functional.cross_entropy(o, t, reduction="none")  # noqa: E731
    with pytest.raises(ValueError, match=r"fit: loss_fn must return one number per batch .*"
                                         r"shape \(16,\)"):
        fit(s["model"], per_sample, s["optimizer"], s["train"], epochs=1)
    with pytest.raises(ValueError, match=r"evaluate: loss_fn must return one number"):
        evaluate(s["model"], s["val"], per_sample)


def test_trainer_fit_twice_continues_counting_epochs():
    s = setup(dropout=0.0)
    tr = Trainer(s["model"], s["loss_fn"], s["optimizer"])
    tr.fit(s["train"], epochs=2)
    h = tr.fit(s["train"], epochs=3)
    assert [r["epoch"] for r in h] == [1, 2, 3] and tr.global_step == 3 * len(s["train"])
    assert not math.isnan(tr.running_loss)
