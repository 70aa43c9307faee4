"""``chainrule train --tensorboard DIR``: the event files hold exactly metrics.jsonl's numbers,
a resume keeps logging there (the option is stored, as an absolute path), ``off`` stops it, and
a DIR that is a file is a one-line error."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboardX", reason="the tensorboard extra (tensorboardX) is needed")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard package is needed to read event files back")

from chainrule.train import read_checkpoint, read_jsonl  # noqa: E402
from chainrule.train.callbacks.tensorboard import scalar_tag  # noqa: E402

from .helpers import assert_one_line_error, run_cli  # noqa: E402

TINY = ["--dataset", "digits", "--hidden", "16", "--batch-size", "64", "--lr", "0.01",
        "--quiet"]


def event_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = event_accumulator.EventAccumulator(str(log_dir),
                                             size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
            for tag in acc.Tags()["scalars"]}


def assert_events_are_the_metrics(log_dir: Path, rows: list[dict]) -> None:
    got = event_scalars(log_dir)
    for key in ("train_loss", "val_loss", "test_loss", "train_accuracy", "val_accuracy",
                "test_accuracy", "train_error_rate", "val_error_rate", "test_error_rate",
                "lr"):
        tag = scalar_tag(key)
        assert [s for s, _ in got[tag]] == [r["epoch"] for r in rows], tag
        assert [v for _, v in got[tag]] == [np.float32(r[key]) for r in rows], tag


def test_train_writes_tensorboard_events_and_a_resume_continues_them(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative DIR is stored as an absolute path
    out = tmp_path / "run"
    code, _, err = run_cli(["train", *TINY, "--epochs", "2", "--out", out,
                            "--tensorboard", "tb"], capsys)
    assert code == 0, err
    tb = tmp_path / "tb"
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert_events_are_the_metrics(tb, rows)
    stored = read_checkpoint(out / "model.safetensors").config["run"]["tensorboard"]
    assert stored == str(tb)

    monkeypatch.chdir(out)  # elsewhere: the stored absolute DIR is continued
    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "3",
                            "--quiet"], capsys)
    assert code == 0, err
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert_events_are_the_metrics(tb, rows)
    assert not (out / "tb").exists()

    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "4",
                            "--quiet", "--tensorboard", "off"], capsys)
    assert code == 0, err
    assert len(read_jsonl(out / "metrics.jsonl")) == 4
    assert [s for s, _ in event_scalars(tb)["loss/val"]] == [1, 2, 3]  # off: nothing new
    assert read_checkpoint(out / "model.safetensors").config["run"]["tensorboard"] is None


def test_a_tensorboard_dir_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    taken = tmp_path / "events.txt"
    taken.write_text("not a folder")
    code, _, err = run_cli(["train", *TINY, "--epochs", "1", "--out", tmp_path / "run",
                            "--tensorboard", taken], capsys)
    assert_one_line_error(code, err, "--tensorboard", "events.txt", "not a folder")
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_help_lists_the_option(capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    flat = " ".join(out.split())
    assert code == 0 and "--tensorboard DIR" in flat and "TensorBoard event files" in flat
