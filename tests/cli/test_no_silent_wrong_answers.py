"""Issue #13 for the command line: explicit options are applied on --resume (and recorded as
used), bad stored values are refused before any folder is touched, absurd model sizes and
out-of-memory are one line, Ctrl-C is one line and status 130 in every phase, and options that
would do nothing are named."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chainrule import models
from chainrule.train import save_checkpoint

from .helpers import assert_one_line_error, run_cli

STEPS = 11  # digits: 1,293 training items in batches of 128
SMALL = ["--hidden", "8", "--batch-size", "128", "--quiet"]


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch):
    """The learning-curve figures are not what these tests are about (and cost seconds)."""
    import chainrule.cli.train_cmd as train_cmd
    monkeypatch.setattr(train_cmd, "_plot", lambda history, out, title: [])


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _first(folder: Path, capsys, *extra) -> Path:
    code, _, err = run_cli(["train", *SMALL, "--epochs", "1", "--out", folder, *extra], capsys)
    assert code == 0, err
    return folder / "model.safetensors"


# -- 1. flags given with --resume are applied, not only printed ----------------------------------

def test_resume_with_a_new_lr_weight_decay_and_optimizer_steps_with_them(capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys, "--lr-schedule", "none", "--lr", "0.001")
    code, out, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--lr", "0.1",
                              "--optimizer", "sgd", "--momentum", "0.5",
                              "--weight-decay", "0.01"], capsys)
    assert code == 0, err
    assert "resume: lr 0.001 -> 0.1 (from --lr)" in out
    assert "optimizer adam -> sgd: optimizer state reset" in out
    # The trainer logs param_groups[0]["lr"] at the start of each epoch: the new value is used.
    assert [r["lr"] for r in _rows(tmp_path / "r")] == [0.001, 0.1]
    used = json.loads((tmp_path / "r" / "metrics.json").read_text())["optimizer"]
    assert used == {"name": "sgd", "start_lr": 0.1, "lr": 0.1, "weight_decay": 0.01,
                    "momentum": 0.5, "nesterov": False}


def test_resume_from_sgd_with_momentum_to_adam_drops_the_stored_momentum(capsys, tmp_path):
    """The stored --momentum belonged to the old optimizer; the user never typed it, so
    switching to adam must not be refused because of it (and adam must not get it)."""
    ckpt = _first(tmp_path / "r", capsys, "--optimizer", "sgd", "--momentum", "0.9",
                  "--nesterov", "--lr-schedule", "none")
    code, out, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--optimizer", "adam"],
                             capsys)
    assert code == 0, err
    assert "optimizer sgd -> adam: optimizer state reset" in out
    used = json.loads((tmp_path / "r" / "metrics.json").read_text())["optimizer"]
    assert used["name"] == "adam" and "momentum" not in used
    # ...but a momentum typed with the switch is still refused for adam
    code, _, err = run_cli(["train", "--resume", ckpt, "--epochs", "3", "--optimizer", "adam",
                            "--momentum", "0.5"], capsys)
    assert_one_line_error(code, err, "--momentum", "adam")


def test_resume_with_a_new_lr_keeps_the_same_optimizers_state(capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys, "--lr-schedule", "none")
    code, out, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--lr", "0.01",
                              "--weight-decay", "0.001"], capsys)
    assert code == 0, err
    assert "resume: lr 0.001 -> 0.01 (from --lr); weight-decay 0.0 -> 0.001 (from --weight-decay)" \
        in out and "state reset" not in out
    assert [r["lr"] for r in _rows(tmp_path / "r")] == [0.001, 0.01]
    used = json.loads((tmp_path / "r" / "metrics.json").read_text())["optimizer"]
    assert used["weight_decay"] == 0.001


def test_resume_with_a_new_lr_under_cosine_continues_the_schedule_from_the_new_start(
        capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys)
    code, _, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--lr", "0.01",
                            "--quiet"], capsys)
    assert code == 0, err
    # The run stored a 1-epoch cosine from 0.001; --epochs 2 stretches it to 2·STEPS steps,
    # and the new start 0.01 takes the cosine's value after STEPS of them.
    lr2 = _rows(tmp_path / "r")[1]["lr"]
    assert lr2 == pytest.approx(0.01 * (1 + math.cos(math.pi * STEPS / (2 * STEPS))) / 2)


def test_resume_with_more_epochs_stretches_the_cosine_instead_of_restarting_it(capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys)
    code, _, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--quiet"], capsys)
    assert code == 0, err
    # Without stretching, the stored 1-epoch cosine is at 0 (and then climbs back up).
    assert _rows(tmp_path / "r")[1]["lr"] == pytest.approx(0.001 * 0.5)


def test_resume_with_another_schedule_starts_it_over(capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys)  # a 1-epoch cosine ends at lr 0
    code, out, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", "--lr-schedule",
                              "none", "--hidden", "8"], capsys)
    assert code == 0, err
    assert "lr-schedule cosine -> none: the schedule starts over" in out
    assert _rows(tmp_path / "r")[1]["lr"] == 0.001


# -- 2. an unknown dataset is refused before any folder is looked at ---------------------------

def _checkpoint_with_run(path: Path, run: dict, **model_options) -> Path:
    cfg = models.model_config("mlp", [8, 8], 10, hidden=[4], **model_options)
    model = models.build_model(cfg)
    save_checkpoint(path, model, config={"model": cfg, "run": run})
    return path


@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_an_unknown_stored_dataset_is_named_and_no_folder_is_created(command, capsys,
                                                                      tmp_path, monkeypatch):
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    data.mkdir(), cwd.mkdir()
    monkeypatch.setenv("CHAINRULE_DATA", str(data))
    monkeypatch.chdir(cwd)
    ckpt = _checkpoint_with_run(tmp_path / "ck.safetensors", {"dataset": "imagenet"})
    argv = ["evaluate", ckpt] if command == "evaluate" else ["train", "--resume", ckpt]
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, "'imagenet'", "digits", "fashion_mnist", str(ckpt))
    assert list(data.iterdir()) == [] and list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.safetensors", "cwd", "data"]


def test_a_bad_stored_option_is_refused_like_its_flag(capsys, tmp_path):
    ckpt = _checkpoint_with_run(tmp_path / "ck.safetensors", {"dataset": "digits",
                                                              "lr": "banana"})
    code, _, err = run_cli(["train", "--resume", ckpt], capsys)
    assert_one_line_error(code, err, "lr", "banana", str(ckpt))


# -- 3. absurd sizes are refused before allocating; MemoryError is one line --------------------

def test_a_huge_hidden_layer_is_refused_before_allocating(capsys):
    code, _, err = run_cli(["train", "--hidden", str(10 ** 12), "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "--hidden", "parameters", "TiB", "memory")


def test_a_tiny_checkpoint_describing_terabytes_is_refused(capsys, tmp_path):
    ckpt = _checkpoint_with_run(tmp_path / "ck.safetensors", {"dataset": "digits"})
    import chainrule as cr
    state = cr.load(ckpt)
    config = json.loads(json.dumps(state["config"]))
    config["model"]["hidden"] = [2 ** 40]
    save_checkpoint(tmp_path / "big.safetensors",
                    models.build_model(models.model_config("mlp", [8, 8], 10, hidden=[4])),
                    config=config)
    assert (tmp_path / "big.safetensors").stat().st_size < 20_000
    for argv in (["evaluate", tmp_path / "big.safetensors"],
                 ["predict", tmp_path / "big.safetensors", tmp_path / "x.npy"]):
        code, _, err = run_cli(argv, capsys)
        assert_one_line_error(code, err, "big.safetensors", "hidden=[1099511627776]", "TiB")


def test_a_memory_error_names_the_phase_the_size_and_the_options(capsys, monkeypatch):
    import chainrule.cli.data as data

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.00 TiB for an array with shape (1, 2) and "
                          "data type float32")
    monkeypatch.setattr(data, "load_data", out_of_memory)
    code, _, err = run_cli(["train", "--epochs", "1"], capsys)
    assert_one_line_error(code, err, "out of memory", "loading digits", "9.00 TiB",
                          "--dataset")


def test_parameter_count_matches_the_built_models():
    for name, extra in [("logreg", {}), ("mlp", {"hidden": [7, 5], "batch_norm": True}),
                        ("resmlp", {"hidden": [6, 9]}), ("cnn", {"channels": [3, 4]}),
                        ("cnn", {"hidden": [5]})]:
        for shape in ([8, 8], [40]):
            cfg = models.model_config(name, shape, 10, **extra)
            real = sum(p.numel() for p in models.build_model(cfg).parameters())
            assert models.parameter_count(cfg).parameters == real, (name, shape, extra)
    with pytest.raises(models.ModelTooLarge, match="hidden"):
        models.check_size(models.model_config("mlp", [8, 8], 10, hidden=[1000]), limit=10_000)


# -- 4. Ctrl-C in every phase: one line, status 130 ----------------------------------------------

CHILD = textwrap.dedent("""
    import os, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    def ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
    WHERE = {where!r}
    if WHERE == "import":  # while the command's modules are being imported
        class Finder:
            def find_spec(self, name, path=None, target=None):
                if name == "chainrule.cli.train_cmd":
                    ctrl_c()
                return None
        sys.meta_path.insert(0, Finder())
    import chainrule.cli as cli
    if WHERE == "data":
        import chainrule.cli.data as data
        data.load_data = ctrl_c
    if WHERE == "save":  # a Ctrl-C at every save: the first stops training, the second
        from chainrule.train import Trainer  # lands in the save it asked for
        save = Trainer.save_checkpoint
        def save_interrupted(self, *args, **kwargs):
            ctrl_c()
            return save(self, *args, **kwargs)
        Trainer.save_checkpoint = save_interrupted
    sys.exit(cli.main(["train", "--dataset", "moons", "--hidden", "8", "--epochs", "3",
                       "--batch-size", "256", "--out", {out!r}, "--quiet"]))
""")


@pytest.mark.parametrize("where,words", [("import", "interrupted"), ("data", "interrupted"),
                                         ("save", "interrupted again")])
def test_ctrl_c_in_every_phase_is_one_line_and_status_130(where, words, tmp_path):
    script = CHILD.format(where=where, out=str(tmp_path / "run"))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 130, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr, lines
    if where == "save":  # the second Ctrl-C stopped the new save; the epoch-1 one is intact
        from chainrule.train import read_checkpoint
        assert read_checkpoint(tmp_path / "run" / "model.safetensors").epoch == 1
        assert [p.name for p in (tmp_path / "run").iterdir() if p.suffix == ".tmp"] == []


# -- 5. predict never suggests unsafe loading ----------------------------------------------------

@pytest.mark.parametrize("content", [b"1,2,3\n4,5,6\n", b"\x80\x04K\x01."])
def test_predict_on_a_non_npy_file_says_what_is_accepted_and_never_suggests_pickle(
        content, capsys, tmp_path):
    ckpt = _checkpoint_with_run(tmp_path / "ck.safetensors", {"dataset": "digits"})
    (tmp_path / "x.csv").write_bytes(content)
    code, _, err = run_cli(["predict", ckpt, tmp_path / "x.csv"], capsys)
    assert_one_line_error(code, err, "x.csv", ".npy")
    assert "allow_pickle" not in err and "pickle.load" not in err


# -- 6. a --val-split that leaves nothing to train on ---------------------------------------------

@pytest.mark.parametrize("value", ["1437", "5000"])
def test_a_val_split_that_empties_the_training_set_is_named(value, capsys):
    code, _, err = run_cli(["train", "--val-split", value, "--epochs", "1"], capsys)
    assert_one_line_error(code, err, f"--val-split {value}", "1437")


# -- 7. options that would do nothing ------------------------------------------------------------

@pytest.mark.parametrize("flag,value", [("--dropout", "0.3"), ("--activation", "tanh")])
def test_hidden_layer_options_with_logreg_are_refused(flag, value, capsys):
    code, _, err = run_cli(["train", "--model", "logreg", flag, value, "--epochs", "1"],
                           capsys)
    assert_one_line_error(code, err, flag, "logreg")


def test_a_missing_data_dir_is_refused_even_for_digits(capsys, tmp_path):
    code, _, err = run_cli(["train", "--data-dir", tmp_path / "nowhere", "--epochs", "1"],
                           capsys)
    assert_one_line_error(code, err, "--data-dir", "nowhere")


def test_a_data_dir_digits_does_not_read_gives_a_warning(capsys, tmp_path):
    code, _, err = run_cli(["train", *SMALL[:-1], "--data-dir", tmp_path, "--epochs", "1",
                            "--out", tmp_path / "r"], capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "--data-dir" in warnings[0] and "not used" in warnings[0]


def test_the_same_option_twice_in_a_toml_file_is_refused(capsys, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text("batch-size = 64\nbatch_size = 128\n")
    code, _, err = run_cli(["train", "--config", cfg], capsys)
    assert_one_line_error(code, err, "'batch-size'", "'batch_size'", "run.toml")


@pytest.mark.parametrize("flag,value,stored", [("--batch-size", "64", "128"),
                                               ("--seed", "7", "0")])
def test_options_that_cannot_change_on_resume_are_refused_not_recorded(flag, value, stored,
                                                                       capsys, tmp_path):
    ckpt = _first(tmp_path / "r", capsys)
    code, _, err = run_cli(["train", "--resume", ckpt, "--epochs", "2", flag, value], capsys)
    assert_one_line_error(code, err, flag, value, f"used {stored}", "--resume")
    assert len(_rows(tmp_path / "r")) == 1


def test_ctrl_c_while_the_package_itself_is_importing_is_one_line_and_status_130(tmp_path):
    """The console script's window before ``chainrule.cli`` exists: the package's own import."""
    script = textwrap.dedent("""
        import os, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
        class Finder:
            def find_spec(self, name, path=None, target=None):
                if name == "chainrule.tensor":        # imported by chainrule/__init__.py
                    os.kill(os.getpid(), signal.SIGINT)
                return None
        sys.meta_path.insert(0, Finder())
        sys.argv = ["chainrule", "--help"]
        import chainrule_launcher
        chainrule_launcher.main()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "chainrule: interrupted", proc.stderr


@pytest.mark.parametrize("value,words", [(1e300, ["1e300", "overflows float32"]),
                                         (float("inf"), ["inf", "must be finite"]),
                                         (float("nan"), ["NaN", "must be finite"])])
def test_predict_names_a_bad_value_precisely(value, words, capsys, tmp_path):
    """1e300 is finite: it must be reported as an overflow of float32, not as NaN or inf."""
    import numpy as np
    ckpt = _checkpoint_with_run(tmp_path / "ck.safetensors", {"dataset": "digits"})
    x = np.zeros((2, 8, 8))
    x[1, 0, 5] = value
    np.save(tmp_path / "x.npy", x)
    code, _, err = run_cli(["predict", ckpt, tmp_path / "x.npy"], capsys)
    assert_one_line_error(code, err, "x.npy", *words)
    if value == 1e300:
        assert "NaN or inf" not in err
