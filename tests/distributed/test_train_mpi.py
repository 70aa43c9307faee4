"""``fit``/``Trainer`` and ``chainrule train`` under ``mpiexec -n N`` (issue #15): the global
batch split among the ranks gives the single-process run's parameters, the metrics are reduced
exactly, only rank 0 writes, a checkpoint resumes on any number of ranks, and a failing rank
stops them all quickly without leaving a half-written checkpoint."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from .mpirun import require_mpiexec, run_mpi
from .train_worker import make_run, max_param_diff, run_fit


@pytest.fixture(autouse=True)
def _default_dtype():
    import chainrule as cr
    old = cr.get_default_dtype()
    yield
    cr.set_default_dtype(old)


FIT = """
import sys, json
from train_worker import run_fit
from mpirun import emit
kwargs = json.loads(sys.argv[1])
emit(run_fit(**kwargs))
"""


@pytest.mark.parametrize("n, kwargs", [(2, {}), (3, {"n": 65}),
                                       (2, {"plateau": True, "epochs": 12, "n": 40})])
def test_fit_on_n_ranks_equals_one_process(n, kwargs):
    """SGD with momentum and two dropout layers, float64, a short last batch (n=65, batch 16:
    a last batch of 1, so two of three ranks hold none of it): parameters to 1e-10, and
    every rank records the same, reduced history as one process — and, with LR-on-plateau
    and early stopping, takes the same decisions."""
    require_mpiexec()
    ref = run_fit(**kwargs)
    result = run_mpi(FIT, n=n, timeout=90, args=(json.dumps(kwargs),))
    assert result.returncode == 0, result.explain()
    for out in result.outputs:
        assert out["world"] == n
        assert max_param_diff(ref["params"], out["params"]) < 1e-10
        assert out["history"] and len(out["history"]) == len(ref["history"])
        for mine, one in zip(out["history"], ref["history"]):
            for key in ("train_running_loss", "train_loss", "val_loss"):
                assert mine[key] == pytest.approx(one[key], rel=1e-12, abs=0), key
            for key in ("train_accuracy", "train_error_rate", "val_accuracy"):
                assert mine[key] == one[key], key
        assert out["stop_reason"] == ref["stop_reason"]
    if kwargs.get("plateau"):   # the reduced val_loss drove both decisions, on every rank
        lrs = [r["lr"] for r in ref["history"]]
        assert ref["stop_reason"] == "early_stopping" and min(lrs) < max(lrs), ref["history"]
    rows = [[{k: v for k, v in r.items() if "second" not in k} for r in o["history"]]
            for o in result.outputs]
    assert all(r == rows[0] for r in rows), "ranks disagree on the reduced history"


EVAL = """
import numpy as np
from train_worker import make_run
from mpirun import emit
import chainrule.distributed as dist
from chainrule.train.data_parallel import evaluate_sharded
dist.init()
model, loss_fn, _, train, val = make_run()
for loader in (train, val):
    loader.shard(dist.get_rank(), dist.get_world_size())
emit({"train": evaluate_sharded(model, train, loss_fn, ["accuracy"]),
      "val": evaluate_sharded(model, val, loss_fn, ["accuracy"])})
"""


@pytest.mark.parametrize("n", [2, 3])
def test_reduced_metrics_equal_single_process_evaluate(n):
    """Sums and counts over the ranks (no padding: val has 29 samples in batches of 7, so the
    last batch of 1 is one rank's) give one process's evaluate: the counts exactly, the loss
    to rounding (each rank averages over its own part of a batch)."""
    require_mpiexec()
    from chainrule.train import evaluate
    model, loss_fn, _, train, val = make_run()
    result = run_mpi(EVAL, n=n, timeout=60)
    assert result.returncode == 0, result.explain()
    for name, loader in (("train", train), ("val", val)):
        one = evaluate(model, loader, loss_fn, ["accuracy"])
        for out in result.outputs:
            got = out[name]
            assert got["samples"] == one["samples"] == len(loader.dataset)
            assert got["accuracy"] == one["accuracy"]
            assert got["error_rate"] == one["error_rate"]
            assert got["loss"] == pytest.approx(one["loss"], rel=1e-13, abs=0)


def _cli_args(out, epochs=3, resume=None):
    args = ["train", "--dataset", "digits", "--epochs", str(epochs), "--dtype", "float64",
            "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05", "--dropout", "0.3",
            "--hidden", "32", "--lr-schedule", "none", "--no-health", "--out", str(out)]
    return args + (["--resume", str(resume)] if resume is not None else [])


def _weights(path) -> dict:
    from safetensors.numpy import load_file
    return {k: v for k, v in load_file(str(path)).items() if k.startswith("model")}


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys() and a
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


CLI = """
import sys
from chainrule.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_cli_train_on_two_ranks_equals_one_process_and_resumes_on_one(tmp_path, capsys):
    require_mpiexec()
    from chainrule.cli import main
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(_cli_args(one) + ["--quiet"]) == 0
    result = run_mpi(CLI, n=2, timeout=120, args=tuple(_cli_args(two)),
                     env={"CHAINRULE_DIST_QUIET": "1"})
    assert result.returncode == 0, result.explain()
    assert result.stdout.count("wrote ") == 1 and result.stdout.count("epoch 3/3") == 1, \
        result.stdout        # rank 0 alone prints
    assert _max_diff(_weights(one / "model.safetensors"), _weights(two / "model.safetensors")) \
        < 1e-10
    metrics = json.loads((two / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["options"]["dtype"] == "float64"
    assert json.loads((one / "metrics.json").read_text())["world_size"] == 1
    rows = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]   # one writer: no doubled rows
    assert not list(two.glob("*.tmp*"))
    # the 2-rank checkpoint continues on 1 rank exactly as the 1-process run does
    assert main(_cli_args(one, 4, one / "model.safetensors") + ["--quiet"]) == 0
    assert main(_cli_args(two, 4, two / "model.safetensors") + ["--quiet"]) == 0
    assert _max_diff(_weights(one / "model.safetensors"), _weights(two / "model.safetensors")) \
        < 1e-10
    assert json.loads((two / "metrics.json").read_text())["world_size"] == 1


KILLED = """
import os, signal, sys
import chainrule.distributed as dist
from chainrule.train import LambdaCallback, ModelCheckpoint
from train_worker import run_fit
dist.init()

def maybe_die(trainer, batch, logs):
    if dist.get_rank() == 1 and trainer.global_step == 12:   # mid-epoch 3
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("injected failure in training")

run_fit(epochs=6, callbacks=[ModelCheckpoint(sys.argv[2], best_name=None),
                             LambdaCallback(on_batch_end=maybe_die)])
"""


@pytest.mark.parametrize("how", ["kill", "raise"])
def test_a_failing_rank_stops_every_rank_quickly(tmp_path, how):
    """SIGKILL of rank 1 mid-epoch, or an exception in its training step: the job ends in well
    under 30 s with a message naming what happened, and the checkpoint on disk is whole."""
    require_mpiexec()
    from chainrule.train import load_checkpoint
    result = run_mpi(KILLED, n=2, timeout=60, args=(how, tmp_path),
                     env={"CHAINRULE_DIST_TIMEOUT": "20"})
    assert not result.timed_out and result.returncode != 0, result.explain()
    assert result.elapsed < 30, result.explain()
    if how == "raise":
        assert "rank 1 of 2" in result.text and "injected failure in training" in result.text, \
            result.explain()
    else:
        assert "rank 1 = pid" in result.text, result.explain()       # the pid map
        assert "KILLED" in result.text or "signal 9" in result.text.lower() \
            or "BAD TERMINATION" in result.text, result.explain()
    model, _, opt, _, _ = make_run()
    ckpt = load_checkpoint(tmp_path / "last.safetensors", model, opt)
    assert ckpt.epoch == 2      # written after epochs 1 and 2, by rank 0 alone, atomically


CLI_RAISES = """
import sys
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule.cli import main
dist.init()
calls, real = [0], F.dropout

def dropout(*args, **kwargs):
    calls[0] += 1
    if dist.get_rank() == 1 and calls[0] == 60:     # in epoch 2 (41 steps an epoch)
        raise ValueError("injected failure in the forward pass")
    return real(*args, **kwargs)

F.dropout = dropout
sys.exit(main(sys.argv[1:]))
"""


def test_cli_rank_raising_stops_every_rank(tmp_path):
    """``chainrule train`` turns errors into an exit status; under mpiexec the failing rank
    must still take the others down (not leave them waiting for the deadline)."""
    require_mpiexec()
    from chainrule.train import load_checkpoint
    args = _cli_args(tmp_path, epochs=3)
    result = run_mpi(CLI_RAISES, n=2, timeout=60, args=tuple(args),
                     env={"CHAINRULE_DIST_TIMEOUT": "25"})
    assert not result.timed_out and result.returncode != 0, result.explain()
    assert result.elapsed < 30, result.explain()
    assert "rank 1 of 2" in result.text and "injected failure" in result.text, result.explain()
    ckpt = load_checkpoint(tmp_path / "model.safetensors")
    assert ckpt.epoch == 1
