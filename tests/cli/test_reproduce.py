"""The command line that reproduces a run: parsed back by the CLI's own parser, it gives the
options the run stored."""
from __future__ import annotations

import shlex

import pytest
from hypothesis import given, strategies as st

from chainrule.cli.args import DEFAULT_LR, DEFAULTS, OPTIMIZERS, SCHEDULES, build_parser
from chainrule.cli.config import RUN_KEYS, resolve_options
from chainrule.cli.reproduce import train_argv, train_command


def parse_back(command: str) -> dict:
    words = shlex.split(command)
    assert words[:2] == ["chainrule", "train"]
    return resolve_options(build_parser().parse_args(words[1:]))


def effective(options: dict) -> dict:
    """The options with the optimizer's default learning rate filled in."""
    o = {k: options.get(k, DEFAULTS[k]) for k in RUN_KEYS}
    o["lr"] = o["lr"] if o["lr"] is not None else DEFAULT_LR[o["optimizer"]]
    return o


stored_options = st.fixed_dictionaries({
    "optimizer": st.sampled_from(OPTIMIZERS),
    "lr": st.none() | st.floats(1e-6, 10.0),
    "hidden": st.none() | st.lists(st.integers(1, 512), max_size=3),
    "batch_norm": st.booleans(),
    "dropout": st.sampled_from([0.0, 0.2, 0.5, 1 / 3]),
    "val_split": st.sampled_from([0.1, 0, 0.0, 500, 0.25]),
    "early_stopping": st.none() | st.integers(0, 20),
    "clip_grad_norm": st.none() | st.floats(1e-3, 100.0),
    "lr_schedule": st.sampled_from(SCHEDULES),
    "seed": st.integers(0, 2 ** 32 - 1),
    "epochs": st.integers(1, 100),
    "data_dir": st.none() | st.sampled_from(["data dir", "/tmp/it's", "a;rm -rf ~"]),
})


@given(stored_options)
def test_parsed_back_it_gives_the_stored_options(options):
    command = train_command(options, out="runs/a b")
    back = parse_back(command)
    assert effective(back) == effective(options)
    assert type(back["val_split"]) is type(options["val_split"]) or options["val_split"] == 0.1
    assert back["out"] == "runs/a b"


def test_only_options_that_differ_from_the_defaults_are_written():
    assert train_argv(dict(DEFAULTS_RUN)) == ["train"]
    assert train_argv({**DEFAULTS_RUN, "optimizer": "sgd", "lr": 0.1}) == \
        ["train", "--optimizer", "sgd"]  # sgd's default rate
    assert train_argv({**DEFAULTS_RUN, "batch_norm": True, "hidden": []}) == \
        ["train", "--hidden", "none", "--batch-norm"]
    assert train_command({"lr": 0.5}, out="x'y") == "chainrule train --lr 0.5 --out 'x'\"'\"'y'"


DEFAULTS_RUN = {k: DEFAULTS[k] for k in RUN_KEYS}


def test_unknown_or_unrepresentable_options_are_refused():
    with pytest.raises(ValueError, match="unknown run option.*colour"):
        train_argv({"colour": "red"})
    with pytest.raises(ValueError, match="lr holds nan"):
        train_argv({"lr": float("nan")})


def test_a_resume_command_gives_each_changed_option_and_only_those():
    from chainrule.cli.reproduce import resume_argv
    before = {**DEFAULTS_RUN, "epochs": 10, "batch_norm": True}
    after = {**before, "epochs": 20, "batch_norm": False, "lr": 0.5}
    argv = resume_argv(before, after, "runs/x-again")
    assert argv == ["train", "--resume", "runs/x-again/model.safetensors", "--lr", "0.5",
                    "--no-batch-norm", "--epochs", "20"]
    args = build_parser().parse_args(argv)
    assert args.resume == "runs/x-again/model.safetensors"
    assert (args.epochs, args.lr, args.batch_norm) == (20, 0.5, False)
    assert resume_argv(before, before, "o")[3:] == []          # nothing changed
    assert train_command(after, "o", resumed_from=before).startswith(
        "chainrule train --resume o/model.safetensors ")
    with pytest.raises(ValueError, match="unknown run option"):
        resume_argv(before, {"nonsense": 1}, "o")


def test_a_rerun_logs_tensorboard_events_into_its_own_folder():
    """The page's commands write into a sibling folder; a --tensorboard folder goes there too,
    so running them never adds events to the original run's logs."""
    from chainrule.cli.reproduce import train_command
    from chainrule.train.report.collect import _commands
    first = {"epochs": 2, "tensorboard": "/runs/tb"}
    later = {"epochs": 4, "tensorboard": "/runs/tb"}
    lines = _commands(train_command, [first, later], "/runs/x-again")
    assert lines[0] == ("chainrule train --epochs 2 --tensorboard /runs/x-again/tensorboard "
                        "--out /runs/x-again")
    assert "/runs/tb" not in " ".join(lines) and "--epochs 4" in lines[1]
