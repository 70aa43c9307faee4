"""Checkpoints and exact resume: k epochs + resume for n − k more == n epochs, bitwise (with
dropout, a shuffled loader, momentum / Adam state and an LR schedule), also from a Ctrl-C in
the middle of an epoch; damaged checkpoints give errors naming the file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError
from chainrule import optim
from chainrule.train import (EarlyStopping, GradientClipping, LambdaCallback, LRSchedulerCallback,
                             ModelCheckpoint, fit, load_checkpoint, read_checkpoint,
                             save_checkpoint)

from .problems import assert_bitwise_equal, setup, weights, without_times

EPOCHS = 5



def _run(ckdir, epochs, *, opt, resume=None, extra=()):
    s = setup(opt=opt, dropout=0.3, scheduler=True)
    callbacks = [EarlyStopping(patience=100, restore_best_weights=False),
                 ModelCheckpoint(ckdir, config={"hidden": 32}), *extra]
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=epochs,
            val_loader=s["val"], scheduler=s["scheduler"], callbacks=callbacks, resume=resume)
    return s, h


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_resume_after_k_epochs_is_bitwise_identical(tmp_path, opt):
    full, h_full = _run(tmp_path / "full", EPOCHS, opt=opt)
    _run(tmp_path / "part", 2, opt=opt)
    resumed, h_res = _run(tmp_path / "part2", EPOCHS, opt=opt,
                          resume=tmp_path / "part" / "last.safetensors")
    assert_bitwise_equal(weights(full["model"]), weights(resumed["model"]))
    assert without_times(h_full) == without_times(h_res)
    assert [r["lr"] for r in h_res] == [0.05 if opt == "sgd" else 0.01] * 2 + \
        [r["lr"] for r in h_full][2:]
    st_full, st_res = full["optimizer"].state_dict(), resumed["optimizer"].state_dict()
    for i, entry in st_full["state"].items():
        for key, value in entry.items():
            assert np.array_equal(np.asarray(value), np.asarray(st_res["state"][i][key])), key
    ck = read_checkpoint(tmp_path / "part2" / "last.safetensors")
    assert ck.epoch == EPOCHS and ck.config == {"hidden": 32} and len(ck.history) == EPOCHS
    assert ck.global_step == EPOCHS * len(full["train"])


def test_a_checkpoint_restores_the_rng_state_it_saved_and_the_draws_continue(tmp_path):
    s = setup(opt="sgd", dropout=0.3)
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1, val_loader=s["val"],
        callbacks=[ModelCheckpoint(tmp_path)])
    at_save = cr.get_rng_state()
    expected = cr.rand(5).numpy()        # what the run would draw next
    ck = read_checkpoint(tmp_path / "last.safetensors")
    assert ck.rng == at_save and ck.rng["bit_generator"] == "PCG64"
    cr.manual_seed(12345)                # a different stream, as in a fresh process
    assert cr.get_rng_state() != at_save
    s2 = setup(seed=7, opt="sgd", dropout=0.3)
    load_checkpoint(tmp_path / "last.safetensors", s2["model"], s2["optimizer"])
    assert cr.get_rng_state() == at_save
    np.testing.assert_array_equal(cr.rand(5).numpy(), expected)
    cr.manual_seed(12345)
    load_checkpoint(tmp_path / "last.safetensors", s2["model"], restore_rng=False)
    assert cr.get_rng_state() != at_save


def _lr_run(ckdir, epochs, *, resume=None, extra=()):
    """Adam with an exponential decay stepped after every batch: the lr changes mid-epoch."""
    s = setup(opt="adam", dropout=0.0)
    sched = optim.lr_scheduler.ExponentialLR(s["optimizer"], gamma=0.9)
    callbacks = [LRSchedulerCallback(sched, interval="step"), GradientClipping(max_norm=0.5),
                 ModelCheckpoint(ckdir), *extra]
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=epochs,
            val_loader=s["val"], callbacks=callbacks, resume=resume, metrics=())
    return s, h


def test_logged_lr_and_grad_norm_describe_the_whole_epoch_also_across_a_mid_epoch_resume(
        tmp_path, terminal_sigint):
    full, h_full = _lr_run(tmp_path / "full", 4)
    steps = len(full["train"])
    assert [r["lr"] for r in h_full] == pytest.approx([0.01 * 0.9 ** (steps * e)
                                                       for e in range(4)], rel=1e-12)
    fired = []

    def interrupt(tr, batch, logs):  # Ctrl-C after 4 batches of epoch 3
        if tr.global_step == 2 * steps + 4 and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    _, h_part = _lr_run(tmp_path / "part", 4, extra=[LambdaCallback(on_batch_end=interrupt)])
    assert fired and len(h_part) == 2
    _, h_res = _lr_run(tmp_path / "part2", 4, resume=tmp_path / "part" / "last.safetensors")
    assert [r["lr"] for r in h_res] == [r["lr"] for r in h_full]
    # the same for the other per-epoch means a callback keeps: the clipped gradient norm
    assert [r["grad_norm"] for r in h_res] == [r["grad_norm"] for r in h_full]
    assert len({r["grad_norm"] for r in h_full}) == 4


def test_ctrl_c_mid_epoch_then_resume_is_bitwise_identical(tmp_path, terminal_sigint):
    full, h_full = _run(tmp_path / "full", 4, opt="adam")
    steps_per_epoch = len(full["train"])
    fired = []

    def interrupt(tr, batch, logs):  # Ctrl-C in the middle of epoch 3
        if tr.global_step == 2 * steps_per_epoch + 4 and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    part, h_part = _run(tmp_path / "part", 4, opt="adam",
                        extra=[LambdaCallback(on_batch_end=interrupt)])
    assert fired and h_part.stop_reason == "interrupted" and len(h_part) == 2
    ck = read_checkpoint(tmp_path / "part" / "last.safetensors")
    assert ck.epoch == 2 and ck.global_step == 2 * steps_per_epoch + 4  # the batch finished
    assert ck.extra["partial_epoch"]["batches"] == 4
    assert ck.loaders["train"]["in_epoch"] and ck.loaders["train"]["position"] == 4
    resumed, h_res = _run(tmp_path / "part2", 4, opt="adam",
                          resume=tmp_path / "part" / "last.safetensors")
    assert_bitwise_equal(weights(full["model"]), weights(resumed["model"]))
    rows_full, rows_res = without_times(h_full), without_times(h_res)
    assert rows_full[:2] == rows_res[:2] and rows_full[3] == rows_res[3]
    # the resumed epoch's running loss sums the batches from before and after the interrupt
    assert rows_res[2]["train_running_loss"] == pytest.approx(rows_full[2]["train_running_loss"])
    assert h_res.stop_reason is None


def test_resume_restores_early_stopping_state_and_its_best_weights(tmp_path):
    def run(epochs, resume=None, d="a"):
        s = setup(opt="adam", dropout=0.0)
        es = EarlyStopping(patience=100, restore_best_weights=True)
        fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=epochs,
            val_loader=s["val"], callbacks=[es, ModelCheckpoint(tmp_path / d)], resume=resume)
        return s["model"], es
    m_full, es_full = run(4, d="full")
    run(2, d="a")
    m_res, es_res = run(4, resume=tmp_path / "a" / "last.safetensors", d="b")
    assert (es_full.best, es_full.best_epoch, es_full.wait) == \
        (es_res.best, es_res.best_epoch, es_res.wait)
    assert_bitwise_equal(weights(m_full), weights(m_res))


SIGINT_CHILD = textwrap.dedent("""
    import json, signal, sys, time
    # Start from Python's usual handler whatever the parent left us: a test run started in
    # the background by a non-interactive shell (`pytest &`) hands its children SIGINT
    # *ignored*, and the handler fit must put back is the one it found.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGINT)
    sys.path.insert(0, {root!r})
    from tests.train.problems import setup
    from chainrule.train import fit, ModelCheckpoint, LambdaCallback
    s = setup(opt="sgd")
    seen = []
    def tick(tr, batch, logs):
        seen.append(1)
        if len(seen) == 3:
            print("READY", flush=True)
        time.sleep(0.01)
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=10000,
            val_loader=s["val"], callbacks=[ModelCheckpoint({ckdir!r}),
                                            LambdaCallback(on_batch_end=tick)])
    print(json.dumps({{"stop_reason": h.stop_reason, "epochs": len(h), "steps": len(seen),
                      "handler_restored": signal.getsignal(signal.SIGINT) is before}}),
          flush=True)
""")


def test_sigint_in_a_subprocess_leaves_a_loadable_checkpoint(tmp_path):
    root = str(Path(__file__).resolve().parents[2])
    script = SIGINT_CHILD.format(root=root, ckdir=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=root)
    try:
        assert child.stdout.readline().strip() == "READY"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["stop_reason"] == "interrupted" and report["handler_restored"]
    ck = read_checkpoint(tmp_path / "last.safetensors")
    assert ck.global_step == report["steps"] and ck.epoch == report["epochs"]
    s = setup(opt="sgd")
    load_checkpoint(tmp_path / "last.safetensors", s["model"], s["optimizer"],
                    loaders={"train": s["train"]})
    assert s["optimizer"].state_dict()["state"], "momentum buffers were restored"


def test_damaged_checkpoints_name_the_file_and_the_good_one_survives(tmp_path, monkeypatch):
    s = setup(opt="sgd")
    good = tmp_path / "ck.safetensors"
    save_checkpoint(good, s["model"], s["optimizer"], epoch=3, config={"a": 1})
    before = good.read_bytes()
    raw = bytearray(before)
    raw[-5] ^= 0xFF  # flip a byte of tensor data
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="flipped.safetensors"):
        load_checkpoint(bad, s["model"])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(before[: len(before) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors.*truncated"):
        load_checkpoint(cut, s["model"])
    with pytest.raises(CheckpointError, match="missing.safetensors"):
        load_checkpoint(tmp_path / "missing.safetensors")
    # a crash while writing a new checkpoint (before the rename) leaves the old one intact
    import chainrule.io.atomic as atomic

    def crash(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(good, s["model"], s["optimizer"], epoch=4)
    monkeypatch.undo()
    assert good.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == \
        ["ck.safetensors", "cut.safetensors", "flipped.safetensors"]
    assert load_checkpoint(good, s["model"]).epoch == 3
    other = setup(opt="sgd")["model"]
    from chainrule import nn
    with pytest.raises(CheckpointError, match="model state in .*ck.safetensors does not fit"):
        load_checkpoint(good, nn.Linear(2, 3))
    assert load_checkpoint(good, other).config == {"a": 1}


def test_a_plain_state_dict_file_loads_as_weights(tmp_path):
    s = setup()
    cr.save(s["model"].state_dict(), tmp_path / "w.safetensors")
    other = setup(seed=5)["model"]
    ck = load_checkpoint(tmp_path / "w.safetensors", other)
    assert ck.epoch == 0 and ck.optimizer_state is None
    assert_bitwise_equal(weights(s["model"]), weights(other))
    cr.save({"x": 1}, tmp_path / "notack.safetensors")
    with pytest.raises(CheckpointError, match="notack.safetensors.*not a training checkpoint"):
        read_checkpoint(tmp_path / "notack.safetensors")
