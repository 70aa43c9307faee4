"""The command line's contract for bad input: one line naming the problem, exit status 2, no
traceback; and --help showing every option with its default."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from chainrule.cli.args import TRAIN_OPTIONS
from chainrule.cli.config import load_toml, resolve_options
from chainrule.cli.errors import CLIError

from .helpers import assert_one_line_error, run_cli

ISSUE_OPTIONS = ["--dataset", "--data-dir", "--model", "--hidden", "--activation", "--init",
                 "--optimizer", "--lr", "--momentum", "--nesterov", "--weight-decay", "--l1",
                 "--l2", "--dropout", "--batch-norm", "--batch-size", "--epochs",
                 "--early-stopping", "--clip-grad-norm", "--lr-schedule", "--val-split",
                 "--seed", "--out", "--resume", "--config", "--quiet"]


def test_help_shows_every_option_with_its_default(capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    for flag in ISSUE_OPTIONS + [o.flag for o in TRAIN_OPTIONS]:
        assert re.search(rf"(^|\s){re.escape(flag)}[ ,]", flat), flag
    # Each option's own help entry (from its line to the next option's) gives its default.
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"\s{2}-", line)]
    for opt in TRAIN_OPTIONS:
        i = next(i for i in starts if lines[i].split()[0].rstrip(",") == opt.flag)
        end = next((j for j in starts if j > i), len(lines))
        assert "(default:" in " ".join(lines[i:end]), opt.flag
    assert "(default: digits)" in flat and "(default: adam)" in flat


@pytest.mark.parametrize("cmd", ["evaluate", "predict"])
def test_help_of_other_commands(cmd, capsys):
    code, out, _ = run_cli([cmd, "--help"], capsys)
    assert code == 0 and "CKPT" in out and "default" in out


@pytest.mark.parametrize("argv,words", [
    (["train", "--dataset", "imagenet"], ["--dataset", "imagenet"]),
    (["train", "--lr", "banana"], ["--lr", "banana"]),
    (["train", "--lr", "-0.1"], ["--lr", "positive"]),
    (["train", "--lr", "nan"], ["--lr"]),
    (["train", "--epochs", "-3"], ["--epochs", "-3"]),
    (["train", "--epochs", "2.5"], ["--epochs", "2.5"]),
    (["train", "--batch-size", "0"], ["--batch-size"]),
    (["train", "--hidden", "64,x"], ["--hidden", "64,x"]),
    (["train", "--dropout", "1"], ["--dropout"]),
    (["train", "--val-split", "1.5"], ["--val-split"]),
    (["train", "--model", "transformer"], ["--model", "transformer"]),
    (["train", "--optimizer", "sgdd"], ["--optimizer", "sgdd"]),
    (["train", "--frobnicate"], ["--frobnicate"]),
    (["train", "--ep", "3"], ["--ep"]),  # no prefix matching
    ([], ["COMMAND"]),
    (["fly"], ["fly"]),
])
def test_bad_flags_give_one_line_and_status_2(argv, words, capsys):
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, *words)


@pytest.mark.parametrize("argv,words", [
    (["train", "--epochs", "0"], ["--epochs 0"]),
    (["train", "--momentum", "0.9"], ["--momentum", "adam"]),
    (["train", "--optimizer", "sgd", "--nesterov"], ["--nesterov"]),
    (["train", "--early-stopping", "3", "--val-split", "0"], ["--early-stopping"]),
    (["train", "--model", "logreg", "--hidden", "10"], ["--hidden", "logreg"]),
    (["train", "--channels", "4", "--model", "mlp"], ["--channels"]),
    (["train", "--resume", "no/such/model.safetensors"], ["no/such/model.safetensors"]),
    (["train", "--config", "no_such.toml"], ["--config", "no_such.toml"]),
    (["train", "--dataset", "mnist1d", "--data-dir", "no/such/dir"], ["--data-dir"]),
    (["evaluate", "no/such/model.safetensors"], ["no/such/model.safetensors"]),
    (["predict", "no/such/model.safetensors", "x.npy"], ["no/such/model.safetensors"]),
])
def test_bad_values_and_files_give_one_line_and_status_2(argv, words, capsys, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, *words)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x00" * 64,
                                     b"\xff\xff\xff\xff\xff\xff\xff\x7f{}"])
def test_corrupt_checkpoint_gives_one_line(content, capsys, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(content)
    for argv in (["evaluate", bad], ["predict", bad, tmp_path / "x.npy"],
                 ["train", "--resume", bad]):
        code, _, err = run_cli(argv, capsys)
        assert_one_line_error(code, err, str(bad))


def test_checkpoint_without_a_model_config_gives_one_line(capsys, tmp_path):
    import chainrule as cr
    path = tmp_path / "weights.safetensors"
    cr.save({"w": cr.zeros(2, 2)}, path)
    code, _, err = run_cli(["evaluate", path], capsys)
    assert_one_line_error(code, err, "no model configuration")


@pytest.mark.parametrize("text,words", [
    ('lr = "banana"\n', ["lr", "banana"]),
    ("lr = \n", ["not valid TOML"]),
    ("lrr = 0.1\n", ["unknown option 'lrr'"]),
    ("epochs = -1\n", ["epochs", "-1"]),
    ("hidden = [64, 'a']\n", ["hidden"]),
    ("batch-norm = 1\n", ["batch-norm", "true or false"]),
    ("config = 'x.toml'\n", ["unknown option 'config'"]),
    ("dataset = 'cifar'\n", ["dataset", "cifar"]),
])
def test_bad_toml_gives_one_line(text, words, capsys, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(text)
    code, _, err = run_cli(["train", "--config", cfg], capsys)
    assert_one_line_error(code, err, *words)


def test_toml_values_are_parsed_and_flags_override_them(tmp_path):
    from chainrule.cli.args import build_parser
    cfg = tmp_path / "run.toml"
    cfg.write_text('dataset = "mnist1d"\nhidden = [100, 100]\nlr = 0.01\nbatch-norm = true\n'
                   'early_stopping = 5\nlr-schedule = "none"\nval-split = 0\n')
    assert load_toml(cfg)["hidden"] == [100, 100]
    args = build_parser().parse_args(["train", "--config", str(cfg), "--lr", "0.5",
                                      "--no-batch-norm"])
    o = resolve_options(args)
    assert (o["dataset"], o["hidden"], o["early_stopping"], o["lr_schedule"]) == \
        ("mnist1d", [100, 100], 5, "none")
    assert o["lr"] == 0.5 and o["batch_norm"] is False  # flags win
    assert o["val_split"] == 0 and o["epochs"] == 40  # untouched defaults remain
    # A [train] table works too, and options stored in a checkpoint sit below the file.
    cfg.write_text("[train]\nepochs = 3\n")
    args = build_parser().parse_args(["train", "--config", str(cfg), "--resume", "x"])
    o = resolve_options(args, lambda path: {"epochs": 9, "seed": 4, "out": "ignored"})
    assert (o["epochs"], o["seed"], o["out"]) == (3, 4, None)


def test_error_messages_are_collapsed_to_one_line():
    from chainrule.cli.errors import one_line
    assert one_line(CLIError("a\nb   c")) == "a b c"
    assert one_line(KeyError("missing key")) == "missing key"


def test_real_process_exit_status_and_single_line(tmp_path):
    """The installed entry point, as a user runs it: python -m chainrule."""
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8), np.float32))
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", "--lr", "banana"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--lr" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
