"""The accuracy targets of issue #8, each the mean of 3 seeds, with the exact commands recorded
in docs/results.md. Slow (minutes each): run with ``pytest -m slow tests/cli``."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

MNIST1D = ["--dataset", "mnist1d", "--dropout", "0", "--batch-size", "100", "--epochs", "150",
           "--val-split", "0"]
RESULTS = {  # name: (arguments, minimum mean test accuracy, needs the shared datasets)
    "digits-default": ([], 0.97, False),
    "mnist1d-mlp": (MNIST1D + ["--model", "mlp", "--hidden", "100,100", "--lr", "1e-2",
                               "--lr-schedule", "none"], 0.65, True),
    "mnist1d-cnn": (MNIST1D + ["--model", "cnn", "--lr", "2e-2"], 0.93, True),
    "mnist-t10k-mlp": (["--dataset", "mnist_t10k", "--model", "mlp", "--epochs", "20",
                        "--batch-size", "64"], 0.95, True),
    "mnist-t10k-cnn": (["--dataset", "mnist_t10k", "--model", "cnn", "--epochs", "12",
                        "--batch-size", "64"], 0.97, True),
}


def _train(args: list[str], out) -> dict:
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", *args, "--out", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("name", list(RESULTS))
def test_accuracy_target_mean_of_three_seeds(name, tmp_path, request):
    args, target, shared = RESULTS[name]
    if shared:
        data_dir = request.getfixturevalue("datasets")
        args = args + ["--data-dir", str(data_dir)]
    runs = [_train(args + ["--seed", str(seed)], tmp_path / f"seed{seed}") for seed in range(3)]
    mean = sum(r["test"]["accuracy"] for r in runs) / 3
    assert mean >= target, f"{name}: mean test accuracy {mean:.4f} < {target}"
    if name == "digits-default":
        assert max(r["seconds"] for r in runs) < 60
