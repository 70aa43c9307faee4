"""The TensorBoard callback: event files read back with TensorBoard's own reader hold exactly
the History's numbers (float32, as TensorBoard stores scalars), histograms when asked, and a
resumed run that redoes an epoch shows it once."""
from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("tensorboardX", reason="the tensorboard extra (tensorboardX) is needed")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard package is needed to read event files back")

from chainrule.train import Callback, ModelCheckpoint, fit  # noqa: E402
from chainrule.train.callbacks import TensorBoard  # noqa: E402
from chainrule.train.callbacks.tensorboard import scalar_tag  # noqa: E402

from .problems import setup  # noqa: E402

SPLIT_MEASURES = {f"{m}/{s}" for m in ("loss", "accuracy", "error_rate")
                  for s in ("train", "val", "test")}


def read_events(log_dir) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def scalars(acc) -> dict[str, list[tuple[int, float]]]:
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
            for tag in acc.Tags()["scalars"]}


def assert_scalars_are_the_history(log_dir, history) -> None:
    got = scalars(read_events(log_dir))
    want: dict[str, list] = {}
    for row in history:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                want.setdefault(scalar_tag(key), []).append((row["epoch"], value))
    assert set(got) == set(want)
    for tag, points in want.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in points], tag
        for (_, v_got), (_, v_want) in zip(got[tag], points):
            assert v_got == np.float32(v_want) or (np.isnan(v_got) and np.isnan(v_want)), tag


def run(tmp_path, epochs=4, callbacks=(), resume=None, board=None, **tb):
    s = setup(scheduler=True)  # StepLR(step_size=3, gamma=0.5): lr changes after epoch 3
    board = board or TensorBoard(tmp_path / "tb", **tb)
    history = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=epochs,
                  val_loader=s["val"], test_loader=s["test"], scheduler=s["scheduler"],
                  callbacks=[board, *callbacks], resume=resume)
    return s, board, history


def test_tags_name_the_measure_then_the_split():
    assert scalar_tag("val_loss") == "loss/val"
    assert scalar_tag("train_error_rate") == "error_rate/train"
    assert scalar_tag("test_accuracy") == "accuracy/test"
    assert scalar_tag("train_running_loss") == "running_loss/train"
    assert scalar_tag("lr") == "lr" and scalar_tag("epoch_seconds") == "epoch_seconds"


def test_every_epoch_number_and_the_lr_are_scalars_equal_to_the_history(tmp_path):
    _, board, history = run(tmp_path, epochs=4)
    assert board.writer is None  # closed at the end of training
    assert_scalars_are_the_history(tmp_path / "tb", history)
    acc = read_events(tmp_path / "tb")
    assert SPLIT_MEASURES | {"lr", "running_loss/train"} <= set(acc.Tags()["scalars"])
    assert [v for _, v in scalars(acc)["lr"]] == [np.float32(x) for x in
                                                  (0.01, 0.01, 0.01, 0.005)]
    assert acc.Tags()["histograms"] == []  # histogram_every=0: none


def test_histograms_of_parameters_and_gradients_every_k_epochs(tmp_path):
    s, _, _ = run(tmp_path, epochs=4, histogram_every=2)
    acc = read_events(tmp_path / "tb")
    names = [name for name, _ in s["model"].named_parameters()]
    assert len(names) == 6
    assert sorted(acc.Tags()["histograms"]) == sorted(
        [f"parameters/{n}" for n in names] + [f"gradients/{n}" for n in names])
    for name, p in s["model"].named_parameters():
        for tag, array in ((f"parameters/{name}", p.numpy()),
                           (f"gradients/{name}", p.grad.numpy())):
            events = acc.Histograms(tag)
            assert [e.step for e in events] == [2, 4], tag
            last = events[-1].histogram_value  # at epoch 4: the final weights, last gradient
            assert last.num == array.size
            assert last.min == pytest.approx(float(array.min()))
            assert last.max == pytest.approx(float(array.max()))
            assert last.sum == pytest.approx(float(array.astype(np.float64).sum()), abs=1e-6)


def test_a_resumed_run_shows_each_epoch_once(tmp_path):
    class Crash(Callback):
        order = 75  # after TensorBoard (70) logged epoch 3, before the checkpoint (80)

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 3:
                raise RuntimeError("power cut")

    crashed = TensorBoard(tmp_path / "tb")
    with pytest.raises(RuntimeError, match="power cut"):
        run(tmp_path, epochs=5, board=crashed,
            callbacks=[Crash(), ModelCheckpoint(tmp_path, best_name=None)])
    crashed.close()  # what the end of the crashed process would do
    assert [s for s, _ in scalars(read_events(tmp_path / "tb"))["loss/val"]] == [1, 2, 3]
    _, _, history = run(tmp_path, epochs=4, resume=tmp_path / "last.safetensors",
                        callbacks=[ModelCheckpoint(tmp_path, best_name=None)])
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert_scalars_are_the_history(tmp_path / "tb", history)  # the crashed epoch 3 is purged


def test_a_resume_into_an_empty_log_dir_writes_the_earlier_epochs_first(tmp_path):
    s = setup(scheduler=True)
    fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, val_loader=s["val"],
        scheduler=s["scheduler"], callbacks=[ModelCheckpoint(tmp_path, best_name=None)])
    s = setup(scheduler=True)
    history = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=3,
                  val_loader=s["val"], scheduler=s["scheduler"],
                  callbacks=[TensorBoard(tmp_path / "new")],
                  resume=tmp_path / "last.safetensors")
    assert_scalars_are_the_history(tmp_path / "new", history)
    assert [s for s, _ in scalars(read_events(tmp_path / "new"))["loss/val"]] == [1, 2, 3]


def test_ctrl_c_closes_the_file_with_the_epochs_done(tmp_path, terminal_sigint):
    import os
    import signal

    class CtrlC(Callback):
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 2 and batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    closed = []

    class Board(TensorBoard):
        def on_interrupt(self, trainer):
            super().on_interrupt(trainer)
            closed.append(self.writer is None)

    board = Board(tmp_path / "tb")
    _, _, history = run(tmp_path, epochs=4, board=board, callbacks=[CtrlC()])
    assert history.stop_reason == "interrupted" and len(history) == 2
    assert closed == [True] and board.writer is None
    assert_scalars_are_the_history(tmp_path / "tb", history)


def test_two_runs_in_one_second_keep_both_files(tmp_path, monkeypatch):
    """tensorboardX names event files by the second: a resume within it must not overwrite."""
    import types
    from tensorboardX import event_file_writer
    monkeypatch.setattr(event_file_writer, "time", types.SimpleNamespace(time=lambda: 1.7e9))
    run(tmp_path, epochs=2, callbacks=[ModelCheckpoint(tmp_path, best_name=None)])
    _, _, history = run(tmp_path, epochs=3, resume=tmp_path / "last.safetensors")
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.1700000000.*"))) == 2
    assert_scalars_are_the_history(tmp_path / "tb", history)


def test_a_log_dir_that_is_a_file_and_bad_arguments_are_refused(tmp_path):
    path = tmp_path / "not_a_folder"
    path.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"TensorBoard: log_dir .*not_a_folder.* "
                                                 r"is not a folder"):
        TensorBoard(path)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="histogram_every must be a non-negative"):
            TensorBoard(tmp_path / "tb", histogram_every=bad)
    board = TensorBoard(tmp_path / "later")
    (tmp_path / "later").write_text("made a file after the callback")
    s = setup()
    with pytest.raises(NotADirectoryError, match="later"):
        fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=1, callbacks=[board])


def test_without_tensorboardx_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[tensorboard\]'"):
        TensorBoard(tmp_path / "tb")
