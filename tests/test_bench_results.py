"""``python -m bench.results`` (issue #19): the logic that turns runs' metrics.json files into
the recorded tables, on fabricated runs — nothing here trains. And the committed docs agree
with what the script would write from docs/results.json."""
from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # bench/ is a top-level package beside src/

from bench import results  # noqa: E402
from bench.results_rows import ROWS, command  # noqa: E402
from bench.results_table import (commands_md, docs_table, figure_md, merge,  # noqa: E402
                                 readme_table, replace_region)

OLD = {"cpu": "Old CPU (AVX2)", "blas": "OpenBLAS 0.1", "rows": {
    "digits": {s: {"accuracy": 0.975, "seconds": 2.0, "commit": "aaaaaaa", "date": "2026-01-01"}
               for s in "012"}}}
NEW = {"cpu": "New CPU (AVX-512)", "blas": "OpenBLAS 0.2 (SkylakeX kernels)", "cores": 2}


def _entry(acc: float) -> dict:
    return {"accuracy": acc, "seconds": 1.0, "commit": "bbbbbbb", "date": "2026-02-02"}


def test_merge_adds_a_machine_and_keeps_the_one_recorded_elsewhere():
    store = {"machines": [OLD]}
    out = merge(store, NEW, {"digits": {"0": _entry(0.9722)}})
    assert [m["cpu"] for m in out["machines"]] == ["Old CPU (AVX2)", "New CPU (AVX-512)"]
    assert out["machines"][0]["rows"] == OLD["rows"]
    assert out["machines"][1]["rows"] == {"digits": {"0": _entry(0.9722)}}
    assert store["machines"] == [OLD]  # the input is not changed


def test_merge_on_the_same_machine_replaces_only_the_seeds_run_again():
    store = merge({}, NEW, {"digits": {s: _entry(0.97) for s in "012"}})
    out = merge(store, dict(NEW), {"digits": {"1": _entry(0.99)}})
    assert len(out["machines"]) == 1
    runs = out["machines"][0]["rows"]["digits"]
    assert [runs[s]["accuracy"] for s in "012"] == [0.97, 0.99, 0.97]


def test_the_docs_table_has_a_column_group_per_machine_and_dashes_where_none_ran():
    store = merge({"machines": [OLD]}, NEW, {"digits": {"0": _entry(0.9722)},
                                             "mnist1d-cnn": {s: _entry(0.95) for s in "012"}})
    table = docs_table(store)
    lines = table.splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head.count("CPU A: mean") == 1 and head.count("CPU B: mean") == 1
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in lines[2:2 + len(ROWS)]}
    digits = rows["digits (8×8), the defaults, MLP 64-256-128-10"]
    a, b = head.index("CPU A: mean"), head.index("CPU B: mean")
    assert digits[a] == "**97.50 %**"
    assert digits[b] == "**97.22 %** (1 seed)" and digits[b - 1] == "seed 0: 97.22"
    cnn = rows["MNIST-1D, the paper's Conv1d CNN"]
    assert cnn[a] == "—" and cnn[b] == "**95.00 %**" and cnn[b - 1] == "95.00 / 95.00 / 95.00"
    assert "**CPU A**: Old CPU (AVX2); OpenBLAS 0.1; commit aaaaaaa, 2026-01-01" in table
    assert "**CPU B**: New CPU (AVX-512); OpenBLAS 0.2 (SkylakeX kernels); commit bbbbbbb" in table


def test_each_readme_row_links_to_its_exact_command():
    table = readme_table(merge({}, NEW, {"digits": {s: _entry(0.97) for s in "012"}}))
    for name in ROWS:
        assert f"(docs/results.md#cmd-{name})" in table
    commands = commands_md()
    for name, row in ROWS.items():
        assert f'<a id="cmd-{name}"></a>' in commands and command(row) in commands


def test_replace_region_rewrites_only_between_the_markers():
    text = "hand\n<!-- results:begin (note) -->\nold\n<!-- results:end -->\nwritten\n"
    out = replace_region(text, "results", "new 1\nnew 2\n")
    assert out == "hand\n<!-- results:begin (note) -->\nnew 1\nnew 2\n<!-- results:end -->\nwritten\n"
    assert replace_region(out, "results", "new 1\nnew 2") == out


@pytest.mark.parametrize("text", ["no markers at all\n",
                                  "<!-- results:begin -->\na\n<!-- results:end -->\n" * 2])
def test_replace_region_refuses_a_file_without_exactly_one_region(text):
    with pytest.raises(ValueError, match=r"README\.md: expected one '<!-- results:begin"):
        replace_region(text, "results", "x", "README.md")


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.md").write_text(
        "# hand\n<!-- results:begin -->\n<!-- results:end -->\nprose\n"
        "<!-- commands:begin -->\n<!-- commands:end -->\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "intro\n<!-- figure:begin -->\n<!-- figure:end -->\n## Results\n"
        "<!-- results:begin -->\n<!-- results:end -->\n## After\n", encoding="utf-8")
    (tmp_path / "docs" / "results.json").write_text(json.dumps({"machines": [OLD]}))
    (tmp_path / "docs" / "digits_curves.png").write_bytes(b"old figure")
    return tmp_path


def _fake_runner(accuracy: dict[tuple[str, str], object], fail: set = frozenset()):
    calls = []

    def run(row, seed, out):
        calls.append((row.name, seed))
        out.mkdir(parents=True)
        if (row.name, seed) in fail:
            return 1
        acc = accuracy.get((row.name, seed), 0.96)
        (out / "metrics.json").write_text(json.dumps({"test": {"accuracy": acc}, "seconds": 3.0}))
        (out / "curves.png").write_bytes(f"curves {row.name} {seed}".encode())
        return 0
    run.calls = calls
    return run


def _record(repo, runner, names=("digits", "mnist1d-cnn"), seeds=("0", "1", "2")):
    return results.record(list(names), list(seeds), repo=repo, runs_dir=repo / "runs",
                          runner=runner, this_machine=dict(NEW), at="2026-02-02",
                          log=lambda _: None)


def test_record_rewrites_the_tables_the_store_and_the_figure_from_the_runs(tmp_path):
    repo = _repo(tmp_path)
    runner = _fake_runner({("digits", "0"): 0.9722, ("mnist1d-cnn", "2"): 0.9410})
    _record(repo, runner)
    assert runner.calls == [(n, s) for n in ("digits", "mnist1d-cnn") for s in "012"]
    store = json.loads((repo / "docs" / "results.json").read_text())
    assert store["machines"][0] == OLD  # recorded on another CPU: kept
    new = store["machines"][1]
    assert new["cpu"] == NEW["cpu"] and new["rows"]["digits"]["0"]["accuracy"] == 0.9722
    docs = (repo / "docs" / "results.md").read_text()
    assert "97.22 / 96.00 / 96.00" in docs and "96.00 / 96.00 / 94.10" in docs
    assert docs.startswith("# hand\n") and "\nprose\n" in docs
    assert command(ROWS["mnist1d-cnn"]) in docs
    readme = (repo / "README.md").read_text()
    assert readme.startswith("intro\n") and readme.endswith("## After\n")
    assert "**96.41 %**" in readme and "**97.50 %**" in readme  # CPU B's digits, CPU A's
    assert "seed 0, on CPU B (New CPU (AVX-512)" in readme
    assert (repo / "docs" / "digits_curves.png").read_bytes() == b"curves digits 0"


def test_record_without_digits_seed_0_leaves_the_figure_alone(tmp_path):
    repo = _repo(tmp_path)
    _record(repo, _fake_runner({}), names=("digits",), seeds=("1",))
    assert (repo / "docs" / "digits_curves.png").read_bytes() == b"old figure"


def _snapshot(repo: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file()
            and "runs" not in p.parts}


@pytest.mark.parametrize("bad", [{"fail": {("mnist1d-cnn", "1")}},
                                 {"accuracy": {("digits", "2"): float("nan")}},
                                 {"accuracy": {("digits", "2"): None}}])
def test_record_writes_nothing_when_a_run_failed(tmp_path, bad):
    repo = _repo(tmp_path)
    before = _snapshot(repo)
    runner = _fake_runner(bad.get("accuracy", {}), bad.get("fail", set()))
    with pytest.raises(results.RunFailed, match=r"nothing was written.*(mnist1d-cnn seed 1: "
                                                r"exited with status 1|digits seed 2: )"):
        _record(repo, runner)
    assert len(runner.calls) == 6  # the other runs still ran, to report every failure
    assert _snapshot(repo) == before


def test_record_checks_the_markers_before_running_anything(tmp_path):
    repo = _repo(tmp_path)
    (repo / "README.md").write_text("## Results\n(no markers)\n", encoding="utf-8")
    runner = _fake_runner({})
    with pytest.raises(ValueError, match=r"README\.md: expected one '<!-- results:begin"):
        _record(repo, runner)
    assert runner.calls == []


def test_the_command_line_refuses_an_unknown_row(capsys):
    with pytest.raises(SystemExit) as exc:
        results.main(["--only", "digits,mnist"])
    assert exc.value.code == 2
    assert "--only: unknown 'mnist' (choose from digits," in capsys.readouterr().err


def test_this_machine_is_named_by_its_cpu_and_blas():
    m = results.machine()
    assert m["cpu"] and m["cpu"] != "unknown CPU"
    assert re.search(r"NumPy \d", m["blas"]), m["blas"]


# The committed docs: what the script wrote, in sync with the store.

def _store() -> dict:
    return json.loads((REPO / "docs" / "results.json").read_text(encoding="utf-8"))


def _region(text: str, name: str) -> str:
    found = re.findall(rf"<!-- {name}:begin[^\n]*-->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert len(found) == 1, name
    return found[0].rstrip("\n")


def test_the_committed_tables_are_what_the_store_renders():
    docs = (REPO / "docs" / "results.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    store = _store()
    assert _region(docs, "results") == docs_table(store)
    assert _region(docs, "commands") == commands_md()
    assert _region(readme, "results") == readme_table(store)
    assert _region(readme, "figure") == figure_md(store)


def test_every_recorded_machine_names_its_cpu_blas_and_commit():
    for m in _store()["machines"]:
        assert m["cpu"] and m["blas"]
        for runs in m["rows"].values():
            assert all(e["commit"] and e["date"] for e in runs.values())
    assert sum(bool(m.get("figure")) for m in _store()["machines"]) == 1


def test_the_readme_mnist1d_example_is_the_recorded_command():
    """The README's command-line example for MNIST-1D must be the recorded mnist1d-cnn setting
    (only --out differs), so that it gives the number the Results table shows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [line.split("  #")[0].split() for line in readme.splitlines()
             if line.startswith(".venv/bin/chainrule train") and "mnist1d" in line]
    assert lines
    for words in lines:
        args = words[1:]
        i = args.index("--out")
        del args[i:i + 2]
        assert args == ["train", *ROWS["mnist1d-cnn"].args], shlex.join(words)


def test_render_only_runs_nothing_and_adds_no_empty_machine(tmp_path):
    repo = _repo(tmp_path)
    runner = _fake_runner({})
    _record(repo, runner, names=())
    assert runner.calls == []
    assert json.loads((repo / "docs" / "results.json").read_text()) == {"machines": [OLD]}
    assert "**97.50 %**" in (repo / "README.md").read_text()
