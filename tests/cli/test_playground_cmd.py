"""``chainrule playground``: the table, the claims' numbers, the figure and one-line errors."""
from __future__ import annotations

import pytest

from .helpers import assert_one_line_error, run_cli


def test_prints_table_and_claims_and_writes_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "valley.png"
    code, stdout, err = run_cli(["playground", "--surface", "valley", "--optimizers",
                                 "sgd,momentum,nesterov,rmsprop,adam", "--out", out], capsys)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = stdout.splitlines()
    assert lines[0].startswith("valley: f = 0.05·x² + 5·y²")
    assert lines[1].split()[:3] == ["optimizer", "lr", "steps"]
    sgd = next(line for line in lines if line.startswith("sgd "))
    assert sgd.split()[1:3] == ["0.19", "283"]       # lr, steps to the goal
    assert "Nesterov overshoots less than momentum: overshoot momentum 0.36" in stdout
    assert stdout.count("-> holds") == 2 and f"wrote {out}" in stdout


def test_lr_for_some_and_start(capsys):
    code, stdout, err = run_cli(["playground", "--surface", "quadratic", "--optimizers",
                                 "sgd,adam", "--lr", "adam=0.02", "--steps", "5", "--start",
                                 "1,-1"], capsys)
    assert code == 0, err
    assert "start (1, -1)" in stdout
    assert next(x for x in stdout.splitlines() if x.startswith("adam")).split()[1] == "0.02"
    assert "wrote" not in stdout


def test_unchecked_claim_says_what_to_run(capsys):
    code, stdout, _ = run_cli(["playground", "--surface", "rosenbrock", "--optimizers", "adam",
                               "--steps", "3"], capsys)
    assert code == 0
    assert "not checked (run with --optimizers including lbfgs,newton-cg)" in stdout


@pytest.mark.parametrize("argv, words", [
    (["--surface", "himmelblau"], ["--surface", "himmelblau"]),
    (["--optimizers", "sgd,adamax"], ["--optimizers", "adamax"]),
    (["--lr", "fast"], ["--lr", "fast"]),
    (["--lr", "sgd=0.1,bogus=1"], ["bogus"]),
    (["--optimizers", "sgd", "--lr", "adam=0.1"], ["--lr", "adam"]),
    (["--steps", "0"], ["--steps"]),
    (["--start", "1"], ["--start", "X,Y"]),
    (["--out", "fig.jpg"], ["fig.jpg", ".png"]),
])
def test_bad_options_are_one_line_errors(argv, words, capsys):
    code, stdout, err = run_cli(["playground", *argv], capsys)
    assert_one_line_error(code, err, "playground", *words)
    assert stdout == ""


def test_help_lists_the_command(capsys):
    code, stdout, _ = run_cli(["--help"], capsys)
    assert code == 0 and "playground" in stdout
    code, stdout, _ = run_cli(["playground", "--help"], capsys)
    assert code == 0 and "rosenbrock" in stdout and "newton-cg" in stdout
