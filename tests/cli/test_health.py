"""``chainrule train``'s gradient-health monitor: on by default, health.json / health.png in
the run folder, a warning line per new verdict, --no-health to turn it off."""
from __future__ import annotations

import json

import pytest

from .helpers import run_cli

FAST = ["--epochs", "3", "--hidden", "64,32"]


def _health(out):
    return json.loads((out / "health.json").read_text())


def test_he_initialised_mlp_on_digits_at_the_default_lr_gets_no_verdict(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_cli(["train", "--init", "kaiming_normal", "--epochs", "3",
                                 "--out", out], capsys)
    assert code == 0, err
    doc = _health(out)
    assert doc["format"] == "chainrule-health/1" and doc["every"] == 30
    assert doc["verdicts"] == [] and "health:" not in err
    assert doc["layers"] == ["1", "4", "7"]            # Flatten, then Linear/ReLU/Dropout x2
    for name in doc["layers"]:
        col = doc["series"][name]
        assert col["epoch"] == [1, 2, 3]
        for key in ("grad_norm", "update_ratio", "delta_norm", "act_mean", "act_std",
                    "saturated", "dead"):
            assert len(col[key]) == 3, key
        assert all(v > 0 for v in col["grad_norm"] + col["update_ratio"] + col["delta_norm"])
    assert doc["series"]["1"]["dead"][0] < 0.3 and doc["series"]["7"]["dead"] == [None] * 3
    assert (out / "health.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "health.json" in stdout and "health.png" in stdout


def test_warnings_reach_stderr_even_quiet(tmp_path, capsys):
    code, stdout, err = run_cli(["train", *FAST, "--epochs", "4", "--batch-size", "16",
                                 "--lr", "1e-7", "--quiet",
                                 "--out", tmp_path / "run"], capsys)
    assert code == 0 and stdout == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("health: epoch 3: lr too low") and "remedy:" in line
    assert [v["kind"] for v in _health(tmp_path / "run")["verdicts"]] == ["lr_too_low"]


def test_no_health_writes_nothing_of_it(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", *FAST, "--epochs", "1", "--no-health", "--out", out],
                           capsys)
    assert code == 0, err
    assert not (out / "health.json").exists() and not (out / "health.png").exists()


def test_divergence_is_one_line_exit_1_and_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_cli(["train", *FAST, "--lr", "10", "--quiet", "--out", out],
                                capsys)
    assert code == 1 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "training diverged" in err
    doc = _health(out)
    assert doc["verdicts"][0]["kind"] == "diverged" and doc["verdicts"][0]["epoch"] == 1
    assert "10000 times" in doc["verdicts"][0]["evidence"]


def test_a_resumed_run_keeps_the_earlier_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", *FAST, "--epochs", "1", "--out", out], capsys)[0] == 0
    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "2"],
                           capsys)
    assert code == 0, err
    assert _health(out)["series"]["1"]["epoch"] == [1, 2]


def test_resume_keeps_no_health_and_health_turns_it_back_on(tmp_path, capsys):
    """A --no-health run resumed without the flag stays unmonitored (no health.json or
    health.png written); --health on the resume command turns the monitor on for the rest."""
    out = tmp_path / "run"
    assert run_cli(["train", *FAST, "--epochs", "1", "--no-health", "--quiet", "--out", out],
                   capsys)[0] == 0
    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "2",
                            "--quiet"], capsys)
    assert code == 0, err
    assert not (out / "health.json").exists() and not (out / "health.png").exists()
    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "3",
                            "--health", "--quiet"], capsys)
    assert code == 0, err
    assert _health(out)["series"]["1"]["epoch"] == [3]


@pytest.mark.slow  # about 5-10 s; the rule's fast test is in tests/train/health
def test_long_run_on_500_examples_overfits(tmp_path, capsys, datasets):
    """MNIST-1D with 500 training items, no dropout, a constant lr of 3e-3: the validation loss
    turns up after about epoch 7 while the training loss keeps falling (and ends 35 % above
    its minimum)."""
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--dataset", "mnist1d", "--data-dir",
                            datasets / "mnist1d" / "mnist1d_5000.npz", "--val-split", "3500",
                            "--epochs", "15", "--lr", "0.003", "--dropout", "0",
                            "--lr-schedule", "none",
                            "--quiet", "--out", out], capsys)
    assert code == 0, err
    (v,) = _health(out)["verdicts"]
    assert v["kind"] == "overfitting" and v["layer"] is None
    assert 4 <= v["epoch"] <= 10 and "gap opened" in v["evidence"]
    assert "overfitting" in err and err.count("health:") == 1
