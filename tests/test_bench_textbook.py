"""Workloads G (textbook LeNet) and H (the digits job idle and loaded) of issue #17 run: same
start in both libraries, the background load always stopped, rows and options as documented.
Nothing here checks a time."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import digits_job, run, textbook  # noqa: E402
from bench.models import library  # noqa: E402
from tests.test_bench_smoke import BLAS  # noqa: E402


@pytest.fixture
def torch_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("bn", ["nn", "textbook"])
def test_lenet_same_start_and_path(bn, torch_threads):
    a = textbook.build_lenet(library("chainrule"), bn, 0).state_dict()
    b = textbook.build_lenet(library("torch"), bn, 0).state_dict()
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    cr = textbook.lenet_epoch("chainrule", bn, 256, 128, 0.1, 0, threads=1, warmup=1)
    pt = textbook.lenet_epoch("torch", bn, 256, 128, 0.1, 0, threads=1, warmup=1)
    assert abs(cr["first_loss"] - pt["first_loss"]) < 1e-4
    assert abs(cr["last_loss"] - pt["last_loss"]) < 1e-3  # three SGD steps later: same path
    assert cr["samples_per_s"] > 0 and cr["examples"] == 256


def test_lenet_refuses_unknown_batch_norm():
    with pytest.raises(ValueError, match="'nn' or 'textbook'"):
        textbook.lenet(library("chainrule"), "group")


def test_busy_processes_are_stopped_even_on_error():
    with pytest.raises(KeyboardInterrupt):
        with digits_job.busy(2) as procs:
            assert len(procs) == 2 and all(p.poll() is None for p in procs)
            raise KeyboardInterrupt
    assert all(p.poll() is not None for p in procs)


def test_torch_digits_one_epoch(monkeypatch, torch_threads):
    monkeypatch.setattr(digits_job, "EPOCHS", 1)
    res = digits_job.torch_digits(threads=1)
    assert res["train_seconds"] > 0 and 0.3 < res["test_accuracy"] <= 1


def test_g_and_h_rows(monkeypatch, capsys, torch_threads):
    """--only G,H --quick with G at 256 examples in process and H's runs stubbed."""
    from bench import harness, workloads
    monkeypatch.setattr(harness, "run_worker",
                        lambda kind, lib, params, threads=None, timeout=0:
                        workloads.measure(kind, lib, params))
    monkeypatch.setattr(run, "_versions", lambda: {"numpy": np.__version__, "torch": "t",
                                                   "chainrule_path": "p", "blas": BLAS})
    conditions = []

    @contextlib.contextmanager
    def fake_busy(n):
        conditions.append(n)
        yield []

    times = iter([1.0, 2.0, 5.0, 3.0])
    monkeypatch.setattr(digits_job, "busy", fake_busy)
    monkeypatch.setattr(digits_job, "chainrule_digits",
                        lambda root: {"train_seconds": next(times), "test_accuracy": 0.97})
    monkeypatch.setattr(workloads, "digits_torch",
                        lambda lib, **p: {"train_seconds": 2.5, "test_accuracy": 0.98})
    monkeypatch.setitem(workloads.MEASURES, "digits_torch", workloads.digits_torch)
    rows = run.main(["--quick", "--threads", "1", "--only", "G,H", "--fraction", "0.004",
                     "--runs", "2"])
    out = capsys.readouterr().out
    assert [(r["workload"], r.get("case") or r.get("condition")) for r in rows] == [
        ("G", "nn"), ("G", "textbook"), ("H", "idle"), ("H", "busy")]
    assert all(r["same_start"] and r["examples"] == 240 for r in rows[:2])
    idle, loaded = rows[2:]
    assert conditions == [2]
    assert idle["chainrule_rounds"] == [1.0, 2.0] and loaded["chainrule"] == 5.0
    assert loaded["ratio"] == 2.0 and loaded["met"] is False
    assert loaded["worst_over_idle_median"] == round(5.0 / 1.5, 4)
    assert "CPU" in out and "BLAS b" in out


@pytest.mark.parametrize("args, words", [(["--fraction", "0"], "--fraction"),
                                         (["--runs", "0"], "--runs")])
def test_bad_options(args, words, capsys):
    with pytest.raises(SystemExit):
        run.main(args + ["--only", "G"])
    assert words in capsys.readouterr().err


@pytest.mark.slow
def test_chainrule_digits_job_runs():
    res = digits_job.chainrule_digits(REPO)
    assert res["train_seconds"] > 0 and res["test_accuracy"] > 0.8
