"""The pure half of ``python -m bench.results``: merge new runs into the recorded store, render
the docs/results.md and README tables from it, and replace the generated regions of a file.

The store (docs/results.json) keeps one entry per machine — a CPU model and a BLAS build, since
either changes the rounding of the matrix products and so the trained weights — and per row and
seed that run's test accuracy, epoch seconds, commit and date. A table has one column group per
machine: rerunning on another CPU adds a column group and never overwrites what was recorded
elsewhere.
"""
from __future__ import annotations

import copy
import re
import statistics
from typing import Any, Iterable

from .results_rows import ROWS, Row, command

__all__ = ["merge", "docs_table", "readme_table", "commands_md", "figure_md",
           "replace_region", "machine_name", "STANDARD_SEEDS"]

STANDARD_SEEDS = ("0", "1", "2")
Store = dict[str, Any]


def _machines(store: Store) -> list[dict]:
    return store.get("machines", [])


def merge(store: Store, machine: dict, results: dict[str, dict[str, dict]]) -> Store:
    """A copy of ``store`` with ``results`` (row -> seed -> entry) recorded for ``machine``
    ({"cpu", "blas", ...}): a (row, seed) run again on the same machine is replaced, every
    other entry — other seeds, other rows, other machines — is kept."""
    out = copy.deepcopy(store) if store else {}
    machines = out.setdefault("machines", [])
    if not results:
        return out
    for m in machines:
        if m["cpu"] == machine["cpu"] and m["blas"] == machine["blas"]:
            target = m
            break
    else:
        target = {k: v for k, v in machine.items() if k != "rows"}
        target["rows"] = {}
        machines.append(target)
    for row, seeds in results.items():
        recorded = target["rows"].setdefault(row, {})
        for seed, entry in seeds.items():
            recorded[str(seed)] = dict(entry)
    return out


def machine_name(i: int) -> str:
    """``CPU A``, ``CPU B``, ... in the order machines were first recorded."""
    return "CPU " + (chr(ord("A") + i) if i < 26 else str(i + 1))


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _seed_order(seeds: Iterable[str]) -> list[str]:
    return sorted(seeds, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


def _cells(m: dict, row: str) -> tuple[str, str, str]:
    """(per-seed accuracies, mean, seconds per run) of one row on one machine, or dashes."""
    runs = m["rows"].get(row) or {}
    if not runs:
        return "—", "—", "—"
    seeds = _seed_order(runs)
    acc = [_pct(runs[s]["accuracy"]) for s in seeds]
    sec = [f"{runs[s]['seconds']:.0f}" for s in seeds]
    if tuple(seeds) == STANDARD_SEEDS:
        per_seed, seconds = " / ".join(acc), " / ".join(sec)
    else:
        per_seed = ", ".join(f"seed {s}: {a}" for s, a in zip(seeds, acc))
        seconds = ", ".join(f"seed {s}: {t}" for s, t in zip(seeds, sec))
    mean = f"**{_pct(statistics.fmean(runs[s]['accuracy'] for s in seeds))} %**"
    if len(seeds) != len(STANDARD_SEEDS):
        mean += f" ({len(seeds)} seed{'s' if len(seeds) != 1 else ''})"
    return per_seed, mean, seconds


def _provenance(m: dict, row: str | None = None) -> str:
    """The commits and dates the machine's numbers (of one row, or all) were recorded at."""
    rows = [m["rows"][row]] if row else list(m["rows"].values())
    entries = [e for runs in rows for e in runs.values()]
    commits = sorted({e.get("commit", "?") for e in entries})
    dates = sorted({e.get("date", "?") for e in entries})
    span = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return f"commit{'s' if len(commits) > 1 else ''} {', '.join(commits)}, {span}"


def legend(store: Store) -> str:
    """One line per machine: what CPU and BLAS its column group came from, and when."""
    lines = []
    for i, m in enumerate(_machines(store)):
        note = f" {m['note']}" if m.get("note") else ""
        lines.append(f"- **{machine_name(i)}**: {m['cpu']}; {m['blas']}; "
                     f"{_provenance(m)}.{note}")
    return "\n".join(lines)


def docs_table(store: Store, rows: dict[str, Row] = ROWS) -> str:
    """docs/results.md's table: per machine, the per-seed accuracies, the mean and the epoch
    seconds of each run; the command link and the target of each row."""
    machines = _machines(store)
    head = ["task", "target", "command"]
    for i, _ in enumerate(machines):
        n = machine_name(i)
        head += [f"{n}: seed 0 / 1 / 2 (%)", f"{n}: mean", f"{n}: seconds per run"]
    head.append("reference")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows.values():
        cells = [f"{row.data}, {row.model}", row.target_text, f"[`{row.name}`](#cmd-{row.name})"]
        for m in machines:
            cells += list(_cells(m, row.name))
        cells.append(row.reference)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + legend(store)


def readme_table(store: Store, rows: dict[str, Row] = ROWS,
                 link: str = "docs/results.md") -> str:
    """The README's table: the mean test accuracy per machine, with a link to each row's exact
    command in docs/results.md."""
    machines = _machines(store)
    head = ["data", "model", "target"] + [machine_name(i) for i in range(len(machines))]
    head += ["reference", "exact command"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows.values():
        cells = [row.data, row.model, row.target_text]
        cells += [_cells(m, row.name)[1] for m in machines]
        cells += [row.reference, f"[`{row.name}`]({link}#cmd-{row.name})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + legend(store)


def commands_md(rows: dict[str, Row] = ROWS) -> str:
    """Each row's exact command under an anchor the tables link to (``S``: the seed)."""
    parts = []
    for row in rows.values():
        parts.append(f'<a id="cmd-{row.name}"></a>**`{row.name}`** — {row.data}, {row.model}:\n\n'
                     f"```bash\n{command(row)}\n```")
    return "\n\n".join(parts)


def figure_md(store: Store, path: str = "docs/digits_curves.png") -> str:
    """The README's figure line and a caption naming the run and the machine it came from."""
    for i, m in enumerate(_machines(store)):
        fig = m.get("figure")
        if fig:
            where = f"{machine_name(i)} ({m['cpu']}; {m['blas']})"
            return (f"![Learning curves of the default run: training, validation and test loss "
                    f"and error rate per epoch]({path})\n\n*The `digits` run, seed 0, on {where}, "
                    f"commit {fig['commit']}, {fig['date']}; "
                    f"[its command](docs/results.md#cmd-digits).*")
    return (f"![Learning curves of the default run: training, validation and test loss and "
            f"error rate per epoch]({path})")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin", f"<!-- {name}:end -->"


def replace_region(text: str, name: str, body: str, where: str = "the file") -> str:
    """``text`` with what lies between ``<!-- NAME:begin ... -->`` and ``<!-- NAME:end -->``
    replaced by ``body``; the markers themselves stay. Exactly one pair must be present."""
    begin, end = _markers(name)
    pattern = re.compile(re.escape(begin) + r"[^\n]*-->\n(.*?)" + re.escape(end), re.S)
    found = pattern.findall(text)
    if len(found) != 1:
        raise ValueError(f"{where}: expected one '{begin} -->' ... '{end}' region, found "
                         f"{len(found)}; add the markers around the generated part")
    return pattern.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + body.rstrip("\n")
                       + "\n" + end, text)
