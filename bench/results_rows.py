"""The recorded settings of docs/results.md: one row per task, each the exact ``chainrule train``
arguments that ``python -m bench.results`` runs and the docs print. Edit a setting here, rerun
the script, and the tables, the commands and the figure follow."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Row", "ROWS", "command", "THREADS_ENV"]

THREADS_ENV = {"OPENBLAS_NUM_THREADS": "1"}  # every recorded run uses one BLAS thread


@dataclass(frozen=True)
class Row:
    """One recorded task: ``args`` are passed to ``chainrule train`` before ``--seed``/``--out``;
    ``target`` is the minimum mean test accuracy (a fraction) the slow tests assert."""
    name: str
    data: str
    model: str
    args: tuple[str, ...]
    target: float
    target_text: str
    reference: str = "—"
    shared_data: bool = True  # needs ../shared/datasets
    max_seconds: float | None = None  # a time target per run, when the task has one


_T10K = "MNIST (t10k: train on the first 8,000 test images, test on the last 2,000)"

ROWS: dict[str, Row] = {row.name: row for row in (
    Row("digits", "digits (8×8), the defaults", "MLP 64-256-128-10", (), 0.97,
        "≥ 97 % in < 60 s", shared_data=False, max_seconds=60.0),
    Row("mnist1d-mlp", "MNIST-1D", "MLP 40-100-100-10",
        ("--dataset", "mnist1d", "--model", "mlp", "--hidden", "100,100", "--dropout", "0",
         "--lr", "1e-2", "--lr-schedule", "none", "--batch-size", "100", "--epochs", "150",
         "--val-split", "0"), 0.65, "≥ 65 %",
        "68 % (paper), 63–69 % (PyTorch, 5 seeds)"),
    Row("mnist1d-cnn", "MNIST-1D", "the paper's Conv1d CNN",
        ("--dataset", "mnist1d", "--model", "cnn", "--dropout", "0", "--lr", "2e-2", "--batch-size", "100",
                "--epochs", "150", "--val-split", "0"), 0.93, "≥ 93 %", "94 % (paper)"),
    Row("t10k-mlp", _T10K,
        "MLP 784-256-128-10", ("--dataset", "mnist_t10k", "--model", "mlp", "--epochs", "20",
                               "--batch-size", "64"), 0.95, "≥ 95 %"),
    Row("t10k-cnn", _T10K, "LeNet-style CNN",
        ("--dataset", "mnist_t10k", "--model", "cnn", "--epochs", "12", "--batch-size", "64"),
        0.97, "≥ 97 %"),
)}


def command(row: Row, seed: str | int = "S") -> str:
    """The shell command of one run as the docs print it (``S`` stands for the seed)."""
    env = " ".join(f"{k}={v}" for k, v in THREADS_ENV.items())
    args = " ".join(row.args)
    return (f"{env} .venv/bin/chainrule train {args}{' ' if args else ''}--seed {seed} "
            f"--out runs/{row.name}-{seed}")
