"""Healthy ``chainrule train`` runs get no verdict (issue #21): the configurations on which
the old overfitting rule fired although the runs generalise well (test error 0-2.5 %)."""
from __future__ import annotations

import json

import pytest

from .helpers import run_cli

HEALTHY = {
    "adadelta": ["--optimizer", "adadelta"],
    "rmsprop": ["--optimizer", "rmsprop"],
    "nadam": ["--optimizer", "nadam"],
    "resmlp": ["--model", "resmlp"],
    "blobs": ["--dataset", "blobs"],
    "gelu-bn-sgd": ["--activation", "gelu", "--batch-norm", "--optimizer", "sgd"],
}
DEFAULT_SUITE = ("blobs",)   # the fastest; the digits runs are slow-marked


def _verdicts(tmp_path, capsys, options):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", *options, "--epochs", "40", "--quiet", "--out", out],
                           capsys)
    assert code == 0, err
    doc = json.loads((out / "health.json").read_text())
    return [v["kind"] for v in doc["verdicts"]], err


@pytest.mark.parametrize("name", DEFAULT_SUITE)
def test_representative_healthy_runs_get_no_verdict(tmp_path, capsys, name):
    kinds, err = _verdicts(tmp_path, capsys, HEALTHY[name])
    assert kinds == [] and "health:" not in err


@pytest.mark.slow  # six 40-epoch runs, 2-4 s each
@pytest.mark.parametrize("name", sorted(set(HEALTHY) - set(DEFAULT_SUITE)))
def test_every_reviewed_healthy_run_gets_no_verdict(tmp_path, capsys, name):
    kinds, err = _verdicts(tmp_path, capsys, HEALTHY[name])
    assert kinds == [] and "health:" not in err
