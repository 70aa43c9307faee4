"""``chainrule report RUN_DIR`` and the page ``chainrule train`` writes at the end."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.train.report_helpers import Page, copy_run, shared_run, train_run, write_health

from .helpers import assert_one_line_error, run_cli

pytest.importorskip("jinja2", reason="the report page needs Jinja2 (chainrule[report])")


def test_train_writes_the_report(tmp_path_factory):
    run_dir, code, out, err = shared_run(tmp_path_factory)
    assert code == 0, err
    page = run_dir / "report.html"
    assert page.is_file()
    assert out.strip().splitlines()[-1].endswith("report.html")  # named in train's last line
    text = Page(page.read_text(encoding="utf-8")).text
    # chainrule train runs the gradient-health monitor by default: its files are on the page
    assert (run_dir / "health.json").is_file() and "Measured every" in text
    assert "health.png" in text and "gradient-health monitor was off" not in text
    assert "chainrule train --hidden 16,8" in text


def test_report_rebuilds_the_same_page(tmp_path_factory, tmp_path, capsys):
    run_dir = copy_run(tmp_path_factory, tmp_path)
    page = run_dir / "report.html"
    written_by_train = page.read_text(encoding="utf-8")
    page.unlink()
    code, out, err = run_cli(["report", run_dir], capsys)
    assert (code, err) == (0, "")
    assert out == f"wrote {page}\n"
    # the page depends on the folder's files alone (no clock), and train gave the same folder
    from markupsafe import escape  # Jinja2's own escaping
    original = shared_run(tmp_path_factory)[0]
    assert page.read_text(encoding="utf-8") == written_by_train.replace(
        str(escape(str(original))), str(escape(str(run_dir))))


def test_report_shows_a_health_record_added_later(tmp_path_factory, tmp_path, capsys):
    run_dir = copy_run(tmp_path_factory, tmp_path)
    record = write_health(run_dir)
    elsewhere = tmp_path / "pages" / "r.html"
    code, out, err = run_cli(["report", run_dir, "--out", elsewhere, "--quiet"], capsys)
    assert (code, out, err) == (0, "", "")
    text = Page(elsewhere.read_text(encoding="utf-8")).text
    for v in record["verdicts"]:
        assert v["kind"] in text and v["evidence"] in text


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "nowhere", ["no run folder", "nowhere"]),
    (lambda d: (d / "file.txt").write_text("x") and d / "file.txt", ["is not a folder"]),
    (lambda d: d, ["holds no run", "metrics.json", "model.safetensors", "health.json"]),
])
def test_a_folder_that_is_no_run_is_one_line(tmp_path, capsys, make, words):
    code, out, err = run_cli(["report", make(tmp_path)], capsys)
    assert_one_line_error(code, err, "chainrule report", *words)
    assert not (tmp_path / "report.html").exists()


def test_a_damaged_health_record_is_one_line(tmp_path_factory, tmp_path, capsys):
    run_dir = copy_run(tmp_path_factory, tmp_path)
    (run_dir / "health.json").write_text("{")
    code, _, err = run_cli(["report", run_dir], capsys)
    assert_one_line_error(code, err, "health.json is not valid JSON")


def test_report_is_in_the_help(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and "report" in out
    code, out, _ = run_cli(["report", "--help"], capsys)
    assert code == 0 and "RUN_DIR" in out and "--out" in out


def test_train_without_jinja2_notes_it_and_succeeds(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    code, out, err = train_run(tmp_path / "run", capsys)
    assert code == 0
    notes = [line for line in err.splitlines() if "report" in line]
    assert len(notes) == 1 and "chainrule[report]" in notes[0], err
    assert notes[0].startswith("chainrule train: note: no report page")
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert not (tmp_path / "run" / "report.html").exists()


def test_a_fault_in_the_page_does_not_fail_the_run(tmp_path_factory, tmp_path, capsys,
                                                     monkeypatch):
    from chainrule.cli.report_cmd import report_after_training
    from chainrule.train.report import page
    run_dir = copy_run(tmp_path_factory, tmp_path)
    (run_dir / "report.html").unlink()

    def broken(context):
        raise RuntimeError("template fault")

    monkeypatch.setattr(page, "render_report", broken)
    assert report_after_training(run_dir) is None
    err = capsys.readouterr().err
    assert err == "chainrule train: note: no report page (RuntimeError: template fault)\n"
    assert not (run_dir / "report.html").exists()
