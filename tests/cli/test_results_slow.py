"""The accuracy targets of docs/results.md, each on the mean of 3 seeds, with exactly the
settings ``python -m bench.results`` records (bench/results_rows.py). They assert the targets
(≥ 97 % and so on), never the recorded digits: those depend on the CPU and BLAS that ran them.
Slow (minutes each): run with ``pytest -m slow tests/cli``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ beside src/

from bench.results_rows import ROWS, THREADS_ENV  # noqa: E402

pytestmark = pytest.mark.slow


def _train(args: list[str], out) -> dict:
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", *args, "--out", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=3600,
                          env={**os.environ, **THREADS_ENV})
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("name", list(ROWS))
def test_accuracy_target_mean_of_three_seeds(name, tmp_path, request):
    row = ROWS[name]
    args = list(row.args)
    if row.shared_data:
        args += ["--data-dir", str(request.getfixturevalue("datasets"))]
    runs = [_train(args + ["--seed", str(seed)], tmp_path / f"seed{seed}") for seed in range(3)]
    mean = sum(r["test"]["accuracy"] for r in runs) / 3
    assert mean >= row.target, f"{name}: mean test accuracy {mean:.4f} < {row.target}"
    if row.max_seconds is not None:
        assert max(r["seconds"] for r in runs) < row.max_seconds
