"""Callbacks: early stopping on a run built to overfit, checkpoints, LR schedules, clipping,
NaN stop, user callbacks, the progress bar and the metrics logs."""
from __future__ import annotations

import csv
import io
import json
import math
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.train import (Callback, CSVLogger, EarlyStopping, GradientClipping, JSONLLogger,
                             LambdaCallback, LRSchedulerCallback, ModelCheckpoint, ProgressBar,
                             TerminateOnNaN, Trainer, evaluate, fit, load_checkpoint,
                             read_checkpoint, read_jsonl)

from .problems import assert_bitwise_equal, setup, weights


def _overfitting_run():
    """24 noisy training points, a 2-128-128-2 MLP: training loss keeps falling while the
    validation loss turns up after a few epochs."""
    cr.manual_seed(0)
    d = datasets.moons(400, noise=0.35, test_fraction=0.5, seed=2)
    train = DataLoader(TensorDataset(d.train.inputs[:24], d.train.targets[:24]), batch_size=8,
                       shuffle=True)
    val = DataLoader(d.test, batch_size=200)
    model = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 2))
    return model, optim.Adam(model.parameters(), lr=1e-3), train, val


def test_early_stopping_stops_an_overfitting_run_and_restores_the_best_weights(tmp_path):
    model, opt, train, val = _overfitting_run()
    es = EarlyStopping(monitor="val_loss", patience=4)
    ck = ModelCheckpoint(tmp_path)
    h = fit(model, nn.functional.cross_entropy, opt, train, epochs=200, val_loader=val,
            callbacks=[es, ck])
    assert h.stop_reason == "early_stopping" and len(h) < 200
    best = h.best("val_loss")
    assert len(h) == best["epoch"] + 4 and es.best_epoch == best["epoch"] > 1
    assert h[-1]["val_loss"] > best["val_loss"] and h[-1]["train_loss"] < best["train_loss"]
    # the model now holds the best epoch's weights: its validation loss is the best one
    assert evaluate(model, val, nn.functional.cross_entropy)["loss"] == best["val_loss"]
    assert h.restored_epoch == best["epoch"]
    summary = h.summary()  # the numbers of the weights the model holds
    assert summary["epoch"] == best["epoch"] and summary["epochs"] == len(h)
    assert summary["val"] == {"loss": best["val_loss"], "accuracy": best["val_accuracy"],
                              "error_rate": best["val_error_rate"]}
    # ... the same weights ModelCheckpoint kept as best
    again = _overfitting_run()[0]
    assert load_checkpoint(tmp_path / "best.safetensors", again).epoch == best["epoch"]
    assert_bitwise_equal(weights(again), weights(model))
    last = read_checkpoint(tmp_path / "last.safetensors")
    assert last.epoch == len(h) and last.history.stop_reason == "early_stopping"


def test_early_stopping_modes_min_delta_and_no_restore():
    rows = [0.5, 0.6, 0.62, 0.9, 0.95]  # +0.1 and +0.12 are not improvements of > 0.15
    s = setup(dropout=0.0)
    fake = LambdaCallback(order=15, on_epoch_end=lambda tr, e, logs: logs.update(
        val_accuracy=rows[e - 1]))
    snap = {}
    keep = LambdaCallback(order=90, on_epoch_end=lambda tr, e, logs: snap.update(
        weights(tr.model)))
    es = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.15,
                       restore_best_weights=False)
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=5,
            callbacks=[fake, es, keep])
    assert es.monitor.mode == "max"  # 'auto' maximises accuracies
    assert es.best_epoch == 1 and len(h) == 3 and h[-1]["best_epoch"] == 1
    assert_bitwise_equal(weights(s["model"]), snap)  # the last weights were kept
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_monitoring_val_without_validation_data_falls_back_to_train():
    s = setup(dropout=0.0)
    es = EarlyStopping(patience=50)
    with pytest.warns(UserWarning, match="monitoring 'train_loss'"):
        fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, callbacks=[es])
    assert es.best_epoch == 2


def test_scheduler_per_epoch_per_step_and_on_plateau():
    s = setup(dropout=0.0, opt="sgd")
    sched = optim.lr_scheduler.StepLR(s["optimizer"], step_size=1, gamma=0.5)
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=3, scheduler=sched)
    assert [r["lr"] for r in h] == [0.05, 0.025, 0.0125]

    s = setup(dropout=0.0, opt="sgd")
    sched = optim.lr_scheduler.ExponentialLR(s["optimizer"], gamma=0.9)
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2,
        callbacks=[LRSchedulerCallback(sched, interval="step")])
    steps = 2 * len(s["train"])
    assert s["optimizer"].param_groups[0]["lr"] == pytest.approx(0.05 * 0.9 ** steps)

    s = setup(dropout=0.0, opt="sgd")  # demands a 50 % improvement
    plateau = optim.lr_scheduler.ReduceLROnPlateau(s["optimizer"], factor=0.5, patience=0,
                                                   threshold=0.5)
    seen = []
    spy = LambdaCallback(order=5, on_epoch_end=lambda tr, e, logs: seen.append(logs["val_loss"]))
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=3, val_loader=s["val"],
            scheduler=plateau, callbacks=[spy])
    assert [r["lr"] for r in h] == [0.05, 0.05, 0.025]
    assert plateau.best == seen[0]  # it was stepped with val_loss
    with pytest.raises(ValueError, match="interval='epoch'"):
        LRSchedulerCallback(plateau, interval="step")


def test_a_max_mode_plateau_is_stepped_with_accuracy_and_a_contrary_monitor_is_refused():
    s = setup(dropout=0.0, opt="sgd")
    plateau = optim.lr_scheduler.ReduceLROnPlateau(s["optimizer"], mode="max", patience=100)
    seen = []
    spy = LambdaCallback(order=5, on_epoch_end=lambda tr, e, logs: seen.append(logs))
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, val_loader=s["val"],
        scheduler=plateau, callbacks=[spy])
    assert plateau.best == max(r["val_accuracy"] for r in seen)
    for mode, monitor in (("max", "val_loss"), ("min", "val_accuracy"),
                          ("max", "train_error_rate")):
        sched = optim.lr_scheduler.ReduceLROnPlateau(s["optimizer"], mode=mode)
        with pytest.raises(ValueError, match=rf"mode='{mode}'\) would be stepped with "
                                             rf"'{monitor}'"):
            LRSchedulerCallback(sched, monitor=monitor)
    custom = optim.lr_scheduler.ReduceLROnPlateau(s["optimizer"], mode="max")
    assert LRSchedulerCallback(custom, monitor="val_f1").monitor.mode == "max"
    with pytest.raises(ValueError, match="'val_f1', which improves when it rises"):
        LRSchedulerCallback(optim.lr_scheduler.ReduceLROnPlateau(s["optimizer"]),
                            monitor="val_f1")


@pytest.mark.parametrize("monitor,mode", [
    ("val_loss", "min"), ("val_error_rate", "min"), ("train_mae", "min"), ("val_mse", "min"),
    ("val_accuracy", "max"), ("val_acc", "max"), ("val_f1", "max"), ("test_auc", "max"),
    ("val_precision", "max"), ("val_recall", "max"), ("val_iou", "max"), ("val_r2", "max"),
    ("val_dice", "max")])
def test_auto_mode_maximises_higher_is_better_measures(monitor, mode):
    assert EarlyStopping(monitor=monitor).monitor.mode == mode
    assert ModelCheckpoint("unused", monitor=monitor).monitor.mode == mode


class _GradSpy(Callback):
    order = 60  # after GradientClipping (50)

    def __init__(self):
        self.max_abs, self.norms = 0.0, []

    def after_backward(self, trainer):
        grads = [p.grad.numpy() for p in trainer.model.parameters() if p.grad is not None]
        self.max_abs = max(self.max_abs, max(float(np.abs(g).max()) for g in grads))
        self.norms.append(math.sqrt(sum(float((g.astype(np.float64) ** 2).sum())
                                        for g in grads)))


def test_gradient_clipping_by_value_and_by_norm():
    s = setup(dropout=0.0, opt="sgd")
    spy = _GradSpy()
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1,
        callbacks=[GradientClipping(clip_value=1e-3), spy])
    assert 0 < spy.max_abs <= np.float32(1e-3)
    s = setup(dropout=0.0, opt="sgd")
    spy = _GradSpy()
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1,
            callbacks=[spy, GradientClipping(max_norm=0.05)])
    assert max(spy.norms) <= 0.05 * (1 + 1e-5) and h[0]["grad_norm"] > 0.05
    with pytest.raises(ValueError, match="exactly one"):
        GradientClipping()


def test_terminate_on_nan_and_a_user_stop():
    s = setup(dropout=0.0)
    calls = []

    def loss_fn(out, y):
        if cr.is_grad_enabled():  # count training batches, not evaluation ones
            calls.append(1)
        loss = nn.functional.cross_entropy(out, y)
        return loss * float("nan") if len(calls) == 20 else loss
    h = fit(s["model"], loss_fn, s["optimizer"], s["train"], epochs=5,
            callbacks=[TerminateOnNaN()], metrics=())
    per_epoch = len(s["train"])
    assert h.stop_reason == "nan" and len(h) == 19 // per_epoch

    s = setup(dropout=0.0)
    stopper = LambdaCallback(on_epoch_end=lambda tr, e, logs: e == 2 and tr.stop("enough"))
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=5, callbacks=[stopper])
    assert len(h) == 2 and h.stop_reason == "enough"


def test_hooks_run_in_order_and_callbacks_can_be_plain_objects():
    events = []

    class Recorder:  # no base class: any object with some of the hooks
        def on_train_begin(self, tr): events.append("train_begin")
        def on_epoch_begin(self, tr, e): events.append(f"epoch_begin{e}")
        def on_batch_begin(self, tr, b): events.append("b")
        def after_backward(self, tr): events.append("g")
        def on_batch_end(self, tr, b, logs): events.append("e")
        def on_epoch_end(self, tr, e, logs): events.append(f"epoch_end{e}")
        def on_train_end(self, tr): events.append("train_end")
    s = setup(dropout=0.0)
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, callbacks=[Recorder()])
    n = len(s["train"])
    assert events == ["train_begin", "epoch_begin1", *["b", "g", "e"] * n, "epoch_end1",
                      "epoch_begin2", *["b", "g", "e"] * n, "epoch_end2", "train_end"]
    with pytest.raises(TypeError, match="unknown hook"):
        LambdaCallback(on_step=print)
    with pytest.raises(TypeError, match="none of the hooks"):
        Trainer(s["model"], s["loss_fn"], s["optimizer"], callbacks=[object()])


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_is_silent_off_a_terminal_and_shows_the_running_loss_on_one(monkeypatch):
    s = setup(dropout=0.0)
    quiet = io.StringIO()
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1,
        callbacks=[ProgressBar(file=quiet)])
    assert quiet.getvalue() == ""
    tty = _FakeTTY()
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, val_loader=s["val"],
        callbacks=[ProgressBar(file=tty)])
    text = tty.getvalue()
    assert "epoch 1/2" in text and "loss " in text and "| val loss" in text
    asked = _FakeTTY()
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1,
        callbacks=[ProgressBar(file=asked, disable=True)])
    assert asked.getvalue() == ""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing: summary lines only
    plain = _FakeTTY()
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2,
        callbacks=[ProgressBar(file=plain)])
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  train loss")


def test_csv_and_jsonl_logs_are_well_formed_and_follow_a_resume(tmp_path):
    class Crash(Callback):
        order = 75  # after the loggers (70), before the checkpoint (80)

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 3:
                raise RuntimeError("power cut")

    def run(epochs, callbacks, resume=None):
        s = setup()
        cbs = [CSVLogger(tmp_path / "m.csv"), JSONLLogger(tmp_path / "m.jsonl"),
               ModelCheckpoint(tmp_path, best_name=None), *callbacks]
        return fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=epochs,
                   val_loader=s["val"], callbacks=cbs, resume=resume)
    with pytest.raises(RuntimeError, match="power cut"):
        run(5, [Crash()])
    assert len(read_jsonl(tmp_path / "m.jsonl")) == 3  # epoch 3 logged, never checkpointed
    h = run(4, [], resume=tmp_path / "last.safetensors")
    rows = read_jsonl(tmp_path / "m.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4] and rows == json.loads(json.dumps(list(h)))
    with open(tmp_path / "m.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in table] == [1, 2, 3, 4]
    assert list(table[0]) == list(h[0])
    for r, row in zip(table, h):
        assert float(r["val_error_rate"]) == row["val_error_rate"]
        assert float(r["train_loss"]) == row["train_loss"]
    # a line cut by a crash at the end of the file is skipped; elsewhere it is an error
    with open(tmp_path / "m.jsonl", "a") as f:
        f.write('{"epoch": 5, "train_lo')
    assert len(read_jsonl(tmp_path / "m.jsonl")) == 4
    (tmp_path / "bad.jsonl").write_text('{"epoch": 1}\n{oops\n{"epoch": 3}\n')
    with pytest.raises(ValueError, match="bad.jsonl, line 2"):
        read_jsonl(tmp_path / "bad.jsonl")
