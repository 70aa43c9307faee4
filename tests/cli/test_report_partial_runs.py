"""Run folders the report must still show (issue #21): a run that diverged in epoch 1 (no
final metrics), a run trained without the monitor after one with it (no stale health files),
a resumed run (the commands actually run, into a sibling folder)."""
from __future__ import annotations

import json
import shlex

import pytest

from ..train.report_helpers import Page
from .helpers import run_cli

pytest.importorskip("jinja2", reason="the report page needs Jinja2 (chainrule[report])")

FAST = ["--hidden", "16", "--quiet"]


def _page(out):
    return Page((out / "report.html").read_text(encoding="utf-8"))


def test_a_run_that_diverges_in_epoch_1_gets_a_page_with_its_verdict(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["train", "--hidden", "64,32", "--quiet", "--epochs", "2", "--lr",
                            "10", "--out", out], capsys)
    assert code == 1 and "training diverged" in err and "no report page" not in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 0 and metrics["stop_reason"] == "diverged"
    assert metrics["options"]["lr"] == 10 and "train" not in metrics
    page = _page(out)
    assert [r["data-kind"] for r in page.find("tr", **{"class": "verdict"})
            if "data-kind" in r] == ["diverged"]
    assert "diverged before its first epoch ended, so it has no final metrics" in page.text
    assert "--lr 10.0" in page.text                      # the command, from the options
    (out / "report.html").unlink()
    (out / "metrics.json").unlink()          # an older run's folder: health.json alone
    code, _, err = run_cli(["report", out, "--quiet"], capsys)
    assert code == 0, err
    assert "metrics.json is missing: the run has no final metrics" in _page(out).text


def test_a_run_without_the_monitor_removes_the_earlier_runs_health_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", *FAST, "--epochs", "1", "--out", out], capsys)[0] == 0
    assert (out / "health.json").is_file()
    code, _, err = run_cli(["train", *FAST, "--epochs", "1", "--no-health", "--out", out],
                           capsys)
    assert code == 0, err
    assert not (out / "health.json").exists() and not (out / "health.png").exists()
    assert _page(out).find("p", id="health-off")


def test_a_resumed_run_shows_each_command_into_a_sibling_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", *FAST, "--epochs", "1", "--out", out], capsys)[0] == 0
    code, _, err = run_cli(["train", "--resume", out / "model.safetensors", "--epochs", "2",
                            "--quiet"], capsys)
    assert code == 0, err
    page = _page(out)
    assert page.find("p", id="resumed") and "resumed 1 time" in page.text
    again = tmp_path / "run-again"
    first, resume = (shlex.split(line) for line in
                     (out / "report.html").read_text().split('<pre id="reproduce">')[1]
                     .split("</pre>")[0].splitlines())
    assert first == ["chainrule", "train", "--hidden", "16", "--epochs", "1", "--out",
                     str(again)]
    assert resume == ["chainrule", "train", "--resume", str(again / "model.safetensors"),
                      "--epochs", "2"]
    assert f"into {again} , a folder beside this run's" in page.text
    stored = json.loads((out / "metrics.json").read_text())["invocations"]
    assert [i["epochs"] for i in stored] == [1, 2]
