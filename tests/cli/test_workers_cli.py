"""``chainrule train --workers N``: worker processes prepare the batches, and the run's
metrics and weights are those of ``--workers 0``."""
import json

import numpy as np
import pytest

from .helpers import run_cli

TINY = ["--dataset", "xor", "--hidden", "8", "--epochs", "2", "--batch-size", "64",
        "--no-health", "--quiet"]


def _run(tmp_path, workers: int, capsys) -> dict:
    out = tmp_path / f"w{workers}"
    code, _, err = run_cli(["train", *TINY, "--workers", str(workers), "--out", out], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["options"].pop("workers") == workers
    for invocation in metrics.get("invocations", []):    # the commands the run came from
        assert invocation.pop("workers") == workers
    return _without_timings(metrics)


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "second" not in k}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_workers_do_not_change_the_metrics(tmp_path, capsys):
    serial, parallel = _run(tmp_path, 0, capsys), _run(tmp_path, 2, capsys)
    assert serial["test"]["accuracy"] > 0 and serial == parallel
    from safetensors.numpy import load_file
    a = load_file(str(tmp_path / "w0" / "model.safetensors"))
    b = load_file(str(tmp_path / "w2" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


def test_workers_must_be_a_count(capsys):
    code, _, err = run_cli(["train", "--workers", "-1"], capsys)
    assert code == 2 and "--workers" in err


@pytest.mark.parametrize("flag", ["--workers"])
def test_workers_is_in_the_help(flag, capsys):
    code, out, _ = run_cli(["train", "--help"], capsys)
    assert code == 0 and flag in out
