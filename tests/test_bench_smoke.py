"""The benchmark suite (bench/, issue #9) still runs: every workload for a couple of steps in
--quick mode, for both libraries. Benchmarks are not tests — nothing here checks a time; what is
checked is that the two libraries run the same workload (same initial weights, same first loss)
and that the suite produces its table and one JSON line per row.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # bench/ is a top-level package beside src/

from bench import harness, models, run, suite, workloads  # noqa: E402


BLAS = {"library": "b", "num_threads": 1, "threshold": 1, "in_force": 1, "per_gemm": True}


@pytest.fixture
def torch_threads():
    """The suite sets PyTorch's thread count; give the test session its own back."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("arch", ["mlp", "cnn2d", "cnn1d"])
def test_same_initial_weights_in_both_libraries(arch, torch_threads):
    a = models.build(models.library("chainrule"), arch, seed=0).state_dict()
    b = models.build(models.library("torch"), arch, seed=0).state_dict()
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == np.float32
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
    c = models.build(models.library("chainrule"), arch, seed=1).state_dict()
    assert not all(np.array_equal(a[k].numpy(), c[k].numpy()) for k in a)


def test_quick_suite_in_process(monkeypatch, capsys, torch_threads):
    """The whole suite in --quick mode, each 'worker' run in this process to stay fast."""
    monkeypatch.setattr(harness, "run_worker",
                        lambda kind, lib, params, threads=None, timeout=0:
                        workloads.measure(kind, lib, params))
    monkeypatch.setattr(run, "_versions", lambda: {"numpy": np.__version__, "torch": "t",
                                                   "chainrule_path": "p", "blas": BLAS})
    rows = run.main(["--quick", "--threads", "1", "--only", "A,B,C,D,E,F"])  # G, H: their own
    # tests (tests/test_bench_textbook.py); one thread: no pool stalls on a busy CI
    out = capsys.readouterr().out
    by = {(r["workload"], r.get("case")): r for r in rows}
    assert [r["workload"] for r in rows] == ["A", "B", "C", "C", "D", "E", "F"]
    for wl in "AB":
        assert by[wl, None]["same_start"], by[wl, None]  # same weights, same data, same loss
        assert by[wl, None]["chainrule"] > 0 and by[wl, None]["torch"] > 0
    assert by["D", None]["chainrule"] > 0
    assert by["F", None]["roofline_step_ms"] > 0
    e = by["E", None]
    if "skipped" not in e:  # MNIST-1D present: 4 steps cannot reach 93 %
        assert e["chainrule_reached"] == 0 and e["chainrule"] is None and e["met"] is None
        assert e["chainrule_steps"] == e["torch_steps"] == suite.QUICK["E"]["max_steps"]
    json_lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert json_lines == rows and all(r["blas"] == "b" and r["cpu"] for r in rows)
    assert "target" in out and ("not reached" in out or "skipped" in out)


def test_worker_runs_in_a_fresh_process():
    res = harness.run_worker("memory", "chainrule",
                             dict(batch=8, steps=1, lr=0.01, momentum=0.9, seed=0))
    assert res["steps"] == 1 and res["peak_mib"] >= res["import_peak_mib"] > 0
    with pytest.raises(harness.WorkerError, match="memory/chainrule"):
        harness.run_worker("memory", "chainrule", dict(batch=8))


def test_command_line_as_script():
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--only", "Z"],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "unknown workload" in done.stderr


def test_targets_are_oriented_as_stated():
    assert suite.TARGETS["A"].met(1.2) and not suite.TARGETS["A"].met(1.0)
    assert suite.TARGETS["D"].met(0.2) and not suite.TARGETS["D"].met(0.5)
    assert suite.TARGETS["E"].met(None) is None
    assert harness.ratio(float("inf"), 1.0) is None
    assert workloads.mlp_flops(128) == 6 * 128 * (784 * 512 + 512 * 512 + 512 * 10)


def test_hand_written_numpy_mlp_matches_chainrule(torch_threads):
    """bench/numpy_mlp.py (the floor A is compared with) computes the same first loss and the
    same updated weights as chainrule from the suite's weights."""
    from bench.numpy_mlp import NumpyMLP
    x, y = models.synthetic_batches((784,), 16, 1, 3)[0]
    net = NumpyMLP(0)
    L = models.library("chainrule")
    model = models.build(L, "mlp", 0)
    opt = L.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(2):
        loss = workloads.train_step(model, opt, L.F, L.from_numpy(x), L.from_numpy(y))
        np.testing.assert_allclose(net.step(x, y), loss.item(), rtol=1e-5)
    np.testing.assert_allclose(net.w[0], model.state_dict()["0.weight"].numpy(), atol=1e-6)


def test_profiler_runs():
    done = subprocess.run([sys.executable, "-m", "bench.profile_ab", "--only", "A", "--steps",
                           "2", "--warmup", "1", "--top", "3", "--no-torch"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Linear.forward" in done.stdout and "roofline F" in done.stdout
