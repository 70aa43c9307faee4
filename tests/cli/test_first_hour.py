"""Issue #19 for the command line: resuming a finished run changes nothing, the model cannot
change on --resume, --val-split 1.0 is refused, a run whose loss explodes ends with status 1, and
metrics.json records the lr used, says what its times count and where the data came from."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from chainrule.cli import types as T

from .helpers import assert_one_line_error, run_cli

SMALL = ["--hidden", "8", "--batch-size", "128", "--quiet"]
STEPS = 11  # digits: 1,293 training items in batches of 128


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    import chainrule.cli.train_cmd as train_cmd
    monkeypatch.setattr(train_cmd, "_plot", lambda history, out, title: [])


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A complete 1-epoch cosine run (copied by each test that resumes it)."""
    folder = tmp_path_factory.mktemp("finished") / "r"
    import chainrule.cli as cli
    import chainrule.cli.train_cmd as train_cmd
    plot, train_cmd._plot = train_cmd._plot, lambda history, out, title: []
    try:
        assert cli.main(["train", *SMALL, "--epochs", "1", "--out", str(folder)]) == 0
    finally:
        train_cmd._plot = plot
    return folder


def _copy(finished: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "r"
    shutil.copytree(finished, folder)
    return folder


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


# -- 1. --resume of a finished run -----------------------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--epochs", "1"]])
def test_resuming_a_finished_run_says_it_is_complete_and_rewrites_nothing(extra, finished,
                                                                          capsys, tmp_path):
    folder = _copy(finished, tmp_path)
    before = _snapshot(folder)
    code, out, err = run_cli(["train", "--resume", folder / "model.safetensors", *extra],
                             capsys)
    assert code == 0, err
    assert out.count("\n") == 1 and "is complete (1 of 1 epoch)" in out and err == ""
    assert _snapshot(folder) == before


def test_resuming_with_fewer_epochs_than_done_is_refused(finished, capsys, tmp_path):
    folder = _copy(finished, tmp_path)
    before = _snapshot(folder)
    code, _, err = run_cli(["train", "--resume", folder / "model.safetensors", "--epochs", "0"],
                           capsys)
    assert_one_line_error(code, err, "--epochs 0", "fewer than the 1 epoch")
    assert _snapshot(folder) == before


def test_an_early_stopped_run_is_complete_whatever_epochs_ask(finished, capsys, tmp_path):
    from chainrule.train import read_checkpoint, save_checkpoint
    from chainrule.models import build_model
    folder = _copy(finished, tmp_path)
    ckpt_path = folder / "model.safetensors"
    ckpt = read_checkpoint(ckpt_path)
    model = build_model(ckpt.config["model"])
    model.load_state_dict(ckpt.model_state)
    ckpt.history.stop_reason = "early_stopping"
    save_checkpoint(ckpt_path, model, epoch=1, history=ckpt.history, config=ckpt.config,
                    extra={"stop_training": True})
    before = _snapshot(folder)
    code, out, err = run_cli(["train", "--resume", ckpt_path, "--epochs", "5"], capsys)
    assert code == 0, err
    assert "is complete: early stopping ended it after epoch 1" in out
    assert _snapshot(folder) == before


def test_extending_a_finished_cosine_says_what_the_schedule_does(finished, capsys, tmp_path):
    folder = _copy(finished, tmp_path)
    code, out, err = run_cli(["train", "--resume", folder / "model.safetensors", "--epochs",
                              "2", "--hidden", "8"], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if "cosine schedule" in line]
    # stored at 1 epoch of STEPS steps, now 2: half way along the stretched cosine
    expected = 0.001 * (1 + math.cos(math.pi * STEPS / (2 * STEPS))) / 2
    assert lines == [f"resume: cosine schedule stretched from 1 to 2 epochs: lr was 0 after "
                     f"epoch 1, continues at {expected:.3g} (the stretched cosine's value "
                     "there) and anneals to 0 by epoch 2"]
    lr = _rows(folder)[1]["lr"]
    assert lr == pytest.approx(expected) and lr > 0  # never a restart from lr 0


# -- 2. the model cannot change on --resume --------------------------------------------------

@pytest.mark.parametrize("flag,value,words", [
    (["--model", "cnn"], None, ["--model cnn", "holds an mlp", "--resume"]),
    (["--hidden", "16"], None, ["--hidden 16", "--hidden 8", "--resume"]),
    (["--activation", "tanh"], None, ["--activation tanh", "--activation relu"]),
    (["--batch-norm"], None, ["--batch-norm on", "--batch-norm off"]),
])
def test_another_architecture_on_resume_is_one_line(flag, value, words, finished, capsys,
                                                    tmp_path):
    folder = _copy(finished, tmp_path)
    before = _snapshot(folder)
    code, _, err = run_cli(["train", "--resume", folder / "model.safetensors", "--epochs", "2",
                            *flag], capsys)
    assert_one_line_error(code, err, *words)
    assert "state_dict" not in err and "Missing" not in err
    assert _snapshot(folder) == before


def test_the_same_architecture_given_explicitly_resumes(finished, capsys, tmp_path):
    folder = _copy(finished, tmp_path)
    code, _, err = run_cli(["train", "--resume", folder / "model.safetensors", "--epochs", "2",
                            "--model", "mlp", "--hidden", "8", "--activation", "relu", "--quiet"],
                           capsys)
    assert code == 0, err


def test_another_dropout_on_resume_is_applied_and_said(finished, capsys, tmp_path):
    folder = _copy(finished, tmp_path)
    code, out, err = run_cli(["train", "--resume", folder / "model.safetensors", "--epochs", "2",
                              "--dropout", "0.5"], capsys)
    assert code == 0, err
    assert "resume: dropout 0.2 -> 0.5 (from --dropout)" in out
    m = json.loads((folder / "metrics.json").read_text())
    assert m["model"]["dropout"] == 0.5 and m["options"]["dropout"] == 0.5


# -- 3. --val-split fractions are in (0, 1), counts are integers -----------------------------

@pytest.mark.parametrize("value", ["1.0", "2.5", "1e3", "-0.1", "-3"])
def test_a_val_split_float_of_one_or_more_is_refused(value, capsys):
    code, _, err = run_cli(["train", "--val-split", value, "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "--val-split", repr(value), "(0, 1)", "integer")


def test_val_split_values_that_stay_accepted():
    assert T.val_split("0") == 0 and T.val_split("0.0") == 0
    assert T.val_split("0.25") == 0.25
    assert T.val_split("1") == 1 and isinstance(T.val_split("1"), int)
    assert T.val_split("500") == 500


def test_a_toml_val_split_of_one_point_zero_is_refused(capsys, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text("val-split = 1.0\n")
    code, _, err = run_cli(["train", "--config", cfg], capsys)
    assert_one_line_error(code, err, "val-split", "(0, 1)")


def test_help_says_how_val_split_is_read(capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    text = " ".join(out.split())
    assert code == 0 and "fraction in (0, 1)" in text and "written as an integer" in text


# -- 4. a run whose loss explodes ends with status 1 -----------------------------------------

def test_a_run_whose_finite_loss_explodes_is_diverged(capsys, tmp_path):
    code, out, err = run_cli(["train", "--optimizer", "adam", "--lr", "1e6", "--epochs", "2",
                              "--out", tmp_path / "d", "--quiet"], capsys)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "diverged" in lines[0] and "10000 times" in lines[0]
    assert "Traceback" not in err and out == ""


# -- 5. metrics.json ---------------------------------------------------------------------------

def test_metrics_json_records_the_lr_used_and_documents_its_times(finished):
    m = json.loads((finished / "metrics.json").read_text())
    assert m["options"]["lr"] == 0.001  # adam's default, not null
    assert set(m["fields"]) == {"seconds", "train_seconds", "wall_seconds"}
    assert all(isinstance(v, str) and len(v) > 20 for v in m["fields"].values())
    assert m["train_seconds"] <= m["seconds"] <= m["wall_seconds"]


def test_metrics_json_records_the_default_lr_of_another_optimizer(capsys, tmp_path):
    code, _, err = run_cli(["train", *SMALL, "--epochs", "1", "--optimizer", "sgd",
                            "--out", tmp_path / "s"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "s" / "metrics.json").read_text())["options"]["lr"] == 0.1


def test_generated_mnist1d_is_labelled_by_its_true_source():
    from chainrule.cli.data import _own_source
    generated = SimpleNamespace(source="mnist1d.make_dataset")
    assert "mnist1d package" in _own_source(generated) and "cache" not in _own_source(generated)
    cached = SimpleNamespace(source="/home/u/.cache/chainrule/x.npz")
    assert _own_source(cached) == "/home/u/.cache/chainrule/x.npz"
    assert _own_source(SimpleNamespace()) == "chainrule's cache"


def test_an_explicit_value_for_a_default_the_model_resolves_is_compared_by_its_weights():
    """A cnn stored with channels None (its default, 16,32 for images): an explicit --channels
    16,32 is the same model, 4,4 is another one."""
    from chainrule.cli.args import DEFAULTS
    from chainrule.cli.errors import CLIError
    from chainrule.cli.resume import check_architecture
    from chainrule.models import model_config
    stored = model_config("cnn", [1, 8, 8], 10)
    o = dict(DEFAULTS, model="cnn", channels=[16, 32])
    check_architecture(stored, o, {"channels": "--channels"}, "ck")
    o["channels"] = [4, 4]
    with pytest.raises(CLIError, match="--channels 4,4 cannot change on --resume.*default"):
        check_architecture(stored, o, {"channels": "--channels"}, "ck")
