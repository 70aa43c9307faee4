"""The report page: what it shows (configuration, metrics, curves, every verdict, the layers
with their parameter counts, the reproducing command), that it escapes what users wrote, that
it needs no network, and that it is written atomically with errors naming the file."""
from __future__ import annotations

import base64
import json
import shlex
import sys
from pathlib import Path

import pytest

from chainrule.cli.checkpoints import load_model
from chainrule.cli.reproduce import train_command
from chainrule.train.report import REPORT, ReportError, collect_run, write_report

from .report_helpers import HOSTILE, RUN_NAME, VERDICTS, Page, copy_run, tiny_png, write_health

pytest.importorskip("jinja2", reason="the report page needs Jinja2 (chainrule[report])")


@pytest.fixture
def run_dir(tmp_path_factory, tmp_path) -> Path:
    """A copy of a real run (trained once per session) with a health record and no page yet;
    its folder's name holds markup the page must escape."""
    copy = copy_run(tmp_path_factory, tmp_path)
    (copy / REPORT).unlink()
    write_health(copy)
    return copy


def build(run_dir: Path) -> tuple[str, Page]:
    path = write_report(run_dir, command=train_command)
    assert path == run_dir / REPORT
    text = path.read_text(encoding="utf-8")
    return text, Page(text)


def test_page_shows_the_configuration_metrics_and_command(run_dir):
    text, page = build(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        assert f"{100 * metrics[split]['accuracy']:.2f}%" in page.text
        assert f"{100 * metrics[split]['error_rate']:.2f}%" in page.text
        assert f"{metrics[split]['loss']:.4g}" in page.text
    options = {a["data-option"] for a in page.find("tr") if "data-option" in a}
    assert options == set(metrics["options"])
    assert "batch_norm true" in page.text and "hidden 16, 8" in page.text
    assert "lr 0.01" in page.text and "seed 3" in page.text
    command = page.text.split("Reproduce this run ")[1].split(" The command writes")[0]
    again = str(run_dir.parent / f"{run_dir.name}-again")   # running it keeps this run
    assert command == train_command(metrics["options"] | {"lr": 0.01}, again)
    assert f"writes into {again} , a folder beside this run's" in page.text
    assert shlex.split(command)[:2] == ["chainrule", "train"]


def test_the_command_parses_back_to_the_stored_options(run_dir):
    from chainrule.cli.args import build_parser
    from chainrule.cli.config import RUN_KEYS, resolve_options
    from chainrule.train import read_checkpoint
    command = collect_run(run_dir, train_command)["command"]
    words = shlex.split(command)
    assert words[0] == "chainrule"
    args = build_parser().parse_args(words[1:])
    stored = read_checkpoint(run_dir / "model.safetensors").config["run"]
    resolved = resolve_options(args)
    assert {k: resolved[k] for k in RUN_KEYS} == {k: stored[k] for k in RUN_KEYS}
    assert resolved["out"] == str(run_dir.parent / f"{run_dir.name}-again")


def test_every_verdict_is_on_the_page_with_kind_layer_and_evidence(run_dir):
    text, page = build(run_dir)
    rows = [r for r in page.find("tr", **{"class": "verdict"}) if "data-kind" in r]
    assert [r["data-kind"] for r in rows] == [v["kind"] for v in VERDICTS]
    for v in VERDICTS:
        assert v["kind"] in page.text and v["evidence"] in page.text and v["remedy"] in page.text
    assert "4.weight" in page.text and "whole model" in page.text  # a null layer
    layer_4 = page.find("tr", data_layer="4")[0]
    assert layer_4.get("class") == "verdict"  # the layer a verdict names is marked


def test_no_verdicts_and_monitor_off_are_said(run_dir):
    write_health(run_dir, verdicts=[])
    _, page = build(run_dir)
    assert "The monitor found no problem." in page.text
    (run_dir / "health.json").unlink()
    (run_dir / "health.png").unlink()
    _, page = build(run_dir)
    assert "gradient-health monitor was off" in page.text
    assert not [r for r in page.find("tr") if "data-kind" in r]


def test_layer_counts_equal_the_models(run_dir):
    _, page = build(run_dir)
    model, _ = load_model(run_dir / "model.safetensors")
    own = {name: sum(p.numel() for p in m.parameters(recurse=False))
           for name, m in model.named_modules()}
    rows = [a for a in page.find("tr") if "data-layer" in a]
    assert rows and {r["data-layer"] for r in rows} <= set(own)
    for r in rows:
        assert int(r["data-count"]) == own[r["data-layer"]], r
    with_params = {n for n, c in own.items() if c}
    assert with_params <= {r["data-layer"] for r in rows}  # no parameter is left out
    total = page.find("td", id="parameter-total")[0]
    assert int(total["data-count"]) == sum(p.numel() for p in model.parameters())
    assert sum(int(r["data-count"]) for r in rows) == int(total["data-count"])
    assert "BatchNorm1d" in page.text


def test_user_strings_are_escaped(run_dir):
    text, page = build(run_dir)
    assert "<script" not in text.lower()  # the page has no script element of its own either
    assert "&lt;script&gt;" in text
    assert HOSTILE in page.text  # shown as text, in the evidence and
    assert run_dir.name == RUN_NAME and str(run_dir) in page.text  # the folder
    assert f"Run {run_dir.name}" in page.text


def test_the_page_fetches_nothing(run_dir):
    text, page = build(run_dir)
    urls = [(tag, key, value) for tag, attrs in page.tags for key, value in attrs.items()
            if key in ("src", "href", "action", "data", "poster", "srcset") and value]
    assert urls, "the page should hold its figures"
    for tag, key, value in urls:
        assert value.startswith("data:"), (tag, key, value[:80])
    assert "https://" not in text and "http://" not in text
    csp = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_figures_are_embedded_byte_for_byte(run_dir):
    _, page = build(run_dir)
    images = {a["data-figure"]: a for a in page.find("img")}
    assert set(images) == {"curves.svg", "health.png"}
    for name, attrs in images.items():
        head, payload = attrs["src"].split(",", 1)
        assert head == ("data:image/svg+xml;base64" if name.endswith(".svg")
                        else "data:image/png;base64")
        assert base64.b64decode(payload) == (run_dir / name).read_bytes()
        assert "naturalWidth" in attrs["onload"] and "failed" in attrs["onerror"]
    (run_dir / "curves.svg").unlink()  # the PNG is used when there is no SVG
    _, page = build(run_dir)
    assert {a["data-figure"] for a in page.find("img")} == {"curves.png", "health.png"}


def test_the_page_is_replaced_atomically(run_dir, monkeypatch):
    page = run_dir / REPORT
    page.write_text("the earlier page")
    (run_dir / "health.json").write_text('{"format": "chainrule-health/1", "verdicts": [{}]}')
    with pytest.raises(ReportError, match="health.json: verdict 1 has no kind"):
        write_report(run_dir)
    assert page.read_text() == "the earlier page"
    write_health(run_dir)
    import chainrule.io.atomic as atomic

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="report page"):
        write_report(run_dir)
    assert page.read_text() == "the earlier page"
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []
    monkeypatch.undo()
    write_report(run_dir)
    assert page.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("name, content, words", [
    ("metrics.json", "{not json", ["metrics.json is not valid JSON"]),
    ("metrics.json", "[1, 2]", ["metrics.json holds list"]),
    ("health.json", '{"format": "other/2"}', ["health.json has format 'other/2'"]),
    ("health.json", '{"format": "chainrule-health/1", "verdicts": [{"kind": "k", '
                    '"evidence": "e", "epoch": "one"}]}', ["verdict 1", "epoch"]),
    ("health.png", "not a png", ["health.png is not a PNG"]),
    ("curves.svg", "<html></html>", ["curves.svg is not an SVG"]),
    ("model.safetensors", "garbage", ["model.safetensors"]),
])
def test_a_damaged_file_is_named(run_dir, name, content, words):
    """(A missing metrics.json is no error: tests/train/test_report_partial.py.)"""
    target = run_dir / name
    if content is None:
        target.unlink()
    else:
        target.write_text(content)
    with pytest.raises(ReportError) as info:
        write_report(run_dir)
    for w in words:
        assert w in str(info.value)
    assert not (run_dir / REPORT).exists()


def test_a_missing_checkpoint_still_gives_a_page(run_dir):
    (run_dir / "model.safetensors").unlink()
    _, page = build(run_dir)
    assert "model.safetensors is missing" in page.text
    assert page.find("td", id="parameter-total")  # rebuilt from metrics.json's model


def test_missing_folder(tmp_path):
    with pytest.raises(ReportError, match="no run folder"):
        collect_run(tmp_path / "nowhere")


def test_without_jinja2_the_error_names_the_extra(run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(ImportError, match=r"chainrule\[report\]"):
        write_report(run_dir)
    assert not (run_dir / REPORT).exists()


def test_tiny_png_is_a_png():
    data = tiny_png(3, 2)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == 3


def test_layer_table_of_a_cnn_adds_up():
    from chainrule.models import build_model, model_config
    from chainrule.train.report.layers import layer_table
    config = model_config("cnn", [1, 8, 8], 10, channels=[4, 6], hidden=[12], batch_norm=True)
    table = layer_table(config)
    model = build_model(config)
    assert table["total"] == sum(p.numel() for p in model.parameters()) > 0
    assert sum(r["count"] for r in table["rows"]) == table["total"]
    assert {"Conv2d", "BatchNorm2d", "Linear"} <= {r["type"] for r in table["rows"]}
    assert table["note"] is None
