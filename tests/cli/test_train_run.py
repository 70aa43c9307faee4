"""``chainrule train`` end to end (a short run in a fresh process, as CI runs it), then
``evaluate`` and ``predict`` on what it wrote, and an exact resume."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.data import load_data
from chainrule.models import build_model
from chainrule.train import read_checkpoint

from .helpers import assert_one_line_error, run_cli

TINY = ["--hidden", "16", "--epochs", "2", "--batch-size", "64", "--lr", "0.01"]
METRIC_KEYS = {"loss", "accuracy", "error_rate"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A short ``python -m chainrule train`` run in a fresh process."""
    out = tmp_path_factory.mktemp("cli") / "digits"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", *TINY, "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stdout and "test accuracy" in proc.stdout
    return out


def test_train_writes_the_report(run_dir):
    for name in ("model.safetensors", "metrics.json", "metrics.csv", "metrics.jsonl",
                 "curves.png", "curves.svg"):
        assert (run_dir / name).stat().st_size > 0, name
    m = json.loads((run_dir / "metrics.json").read_text())
    assert {"train", "val", "test", "epochs", "seconds", "samples_per_second"} <= set(m)
    for split in ("train", "val", "test"):
        assert set(m[split]) == METRIC_KEYS
        assert m[split]["accuracy"] + m[split]["error_rate"] == pytest.approx(1.0)
    assert m["epochs"] == 2 and m["seconds"] > 0 and m["samples_per_second"] > 0
    assert m["test"]["accuracy"] > 0.5  # two epochs of a 16-unit MLP are well above chance
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[-1]["test_accuracy"]) == pytest.approx(m["test"]["accuracy"])
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'id="val_loss"' in (run_dir / "curves.svg").read_text()


def test_checkpoint_config_rebuilds_the_model(run_dir):
    ckpt = read_checkpoint(run_dir / "model.safetensors")
    assert ckpt.config["model"]["name"] == "mlp" and ckpt.config["model"]["hidden"] == [16]
    assert ckpt.config["run"]["dataset"] == "digits" and ckpt.epoch == 2
    model = build_model(ckpt.config)
    model.load_state_dict(ckpt.model_state)


def test_evaluate_reproduces_the_test_metrics(run_dir, capsys):
    m = json.loads((run_dir / "metrics.json").read_text())
    code, out, err = run_cli(["evaluate", run_dir / "model.safetensors", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] == pytest.approx(m["test"]["accuracy"])
    assert result["loss"] == pytest.approx(m["test"]["loss"], rel=1e-5)
    assert result["samples"] == 360
    code, out, _ = run_cli(["evaluate", run_dir / "model.safetensors", "--split", "val"], capsys)
    assert code == 0 and f"{100 * m['val']['accuracy']:.2f}%" in out


def test_evaluate_on_a_dataset_of_another_shape_is_refused(run_dir, capsys):
    code, _, err = run_cli(["evaluate", run_dir / "model.safetensors", "--dataset", "moons"],
                           capsys)
    assert_one_line_error(code, err, "[8, 8]", "[2]")


def test_predict_round_trip(run_dir, capsys, tmp_path):
    data = load_data("digits")
    x, y = data.test.inputs[:50], data.test.targets[:50]
    np.save(tmp_path / "x.npy", x)
    preds = tmp_path / "preds.npy"
    code, out, err = run_cli(["predict", run_dir / "model.safetensors", tmp_path / "x.npy",
                              "--output", preds], capsys)
    assert code == 0, err
    labels = np.load(preds)
    assert labels.dtype == np.int64 and labels.shape == (50,)
    assert out.split() == [str(v) for v in labels]
    model = build_model(read_checkpoint(run_dir / "model.safetensors").config)
    model.load_state_dict(read_checkpoint(run_dir / "model.safetensors").model_state)
    model.eval()
    with cr.no_grad():
        expected = model(cr.tensor(x)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(labels, expected)
    assert (labels == y).mean() > 0.5
    # One item without a batch axis; probabilities as text.
    np.save(tmp_path / "one.npy", x[0])
    code, out, _ = run_cli(["predict", run_dir / "model.safetensors", tmp_path / "one.npy",
                            "--probabilities", "--output", tmp_path / "p.txt"], capsys)
    probs = np.array(out.split(), dtype=float)
    assert code == 0 and probs.shape == (10,) and probs.sum() == pytest.approx(1, abs=1e-4)
    assert int(probs.argmax()) == labels[0]
    assert (tmp_path / "p.txt").read_text().split() == out.split()


@pytest.mark.parametrize("array,words", [(np.zeros((3, 9), np.float32), ["[3, 9]", "[8, 8]"]),
                                         (np.array(["a", "b"]), ["expected numbers"]),
                                         (np.full((8, 8), np.nan, np.float32), ["NaN"])])
def test_predict_bad_inputs(run_dir, capsys, tmp_path, array, words):
    np.save(tmp_path / "bad.npy", array)
    code, _, err = run_cli(["predict", run_dir / "model.safetensors", tmp_path / "bad.npy"],
                           capsys)
    assert_one_line_error(code, err, *words)


def test_resume_continues_exactly(capsys, tmp_path):
    common = ["--hidden", "12", "--batch-size", "128", "--lr-schedule", "none", "--dropout",
              "0.3", "--quiet"]
    assert run_cli(["train", *common, "--epochs", "3", "--out", tmp_path / "full"],
                   capsys)[0] == 0
    assert run_cli(["train", *common, "--epochs", "1", "--out", tmp_path / "part"],
                   capsys)[0] == 0
    # Resume with only the new epoch target: the other options come from the checkpoint.
    code, _, err = run_cli(["train", "--resume", tmp_path / "part" / "model.safetensors",
                            "--epochs", "3", "--quiet"], capsys)
    assert code == 0, err
    a = cr.load(tmp_path / "full" / "model.safetensors")["model"]
    b = cr.load(tmp_path / "part" / "model.safetensors")["model"]
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    m = json.loads((tmp_path / "part" / "metrics.json").read_text())
    assert m["epochs"] == 3 and m["options"]["hidden"] == [12]
    assert len((tmp_path / "part" / "metrics.jsonl").read_text().splitlines()) == 3


def test_regularised_run_with_every_switch(capsys, tmp_path):
    """Penalties, weight decay, momentum, clipping, batch norm, early stopping and a schedule
    together, through a TOML file; the run completes and writes its report."""
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "resmlp"\nhidden = [16, 16]\noptimizer = "sgd"\nmomentum = 0.9\n'
                   'nesterov = true\nlr = 0.05\nl1 = 1e-5\nl2 = 1e-4\nweight-decay = 1e-4\n'
                   'clip-grad-norm = 1.0\nbatch-norm = true\nearly-stopping = 1\n'
                   'lr-schedule = "plateau"\nepochs = 3\nbatch-size = 128\ninit = '
                   '"kaiming_normal"\nactivation = "tanh"\n')
    code, out, err = run_cli(["train", "--config", cfg, "--out", tmp_path / "r", "--quiet"],
                             capsys)
    assert code == 0, err
    assert out == ""  # --quiet
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["model"]["name"] == "resmlp" and m["model"]["batch_norm"] is True
    assert m["options"]["optimizer"] == "sgd" and m["options"]["clip_grad_norm"] == 1.0
    rows = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all("grad_norm" in r for r in rows)
    code, out, _ = run_cli(["evaluate", tmp_path / "r" / "model.safetensors"], capsys)
    assert code == 0 and "accuracy" in out


def test_cnn_on_digits_and_a_synthetic_set(capsys, tmp_path):
    code, _, err = run_cli(["train", "--model", "cnn", "--channels", "4,4", "--hidden", "8",
                            "--epochs", "1", "--batch-size", "256", "--out", tmp_path / "c",
                            "--quiet"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["train", "--dataset", "moons", "--model", "logreg", "--epochs", "1",
                            "--out", tmp_path / "m", "--quiet", "--val-split", "0"], capsys)
    assert code == 0, err
    m = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert "val" not in m and m["model"]["input_shape"] == [2]
    code, _, err = run_cli(["evaluate", tmp_path / "m" / "model.safetensors", "--split", "val"],
                           capsys)
    assert_one_line_error(code, err, "--split val", "--val-split 0")


def test_resume_a_batch_norm_run(capsys, tmp_path):
    common = ["--hidden", "8", "--batch-norm", "--batch-size", "256", "--quiet"]
    assert run_cli(["train", *common, "--epochs", "1", "--out", tmp_path / "bn"], capsys)[0] == 0
    code, _, err = run_cli(["train", "--resume", tmp_path / "bn" / "model.safetensors",
                            "--epochs", "2", "--quiet"], capsys)
    assert code == 0, err


def test_a_diverging_run_stops_with_one_line(capsys, tmp_path):
    code, _, err = run_cli(["train", "--optimizer", "sgd", "--lr", "1e4",
                            "--epochs", "3", "--out", tmp_path / "nan", "--quiet"], capsys)
    assert code == 1
    assert err.strip().count("\n") == 0 and "diverged" in err and "Traceback" not in err
