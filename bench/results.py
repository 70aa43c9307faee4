"""``python -m bench.results``: rerun the recorded runs and rewrite every recorded number.

Each (row, seed) of :data:`bench.results_rows.ROWS` is trained through the real command line
(``python -m chainrule train ARGS --seed S --out DIR`` with ``OPENBLAS_NUM_THREADS=1``, as the
docs print it); its ``metrics.json`` gives the test accuracy and the epoch seconds. The runs are
merged into docs/results.json under this machine's CPU model and BLAS build, and from that
store the generated regions of docs/results.md and README.md are rewritten (and
docs/digits_curves.png, from the digits seed-0 run's curves.png). If any run fails, nothing is
written. Every file is replaced atomically.

    python -m bench.results                      # every row, seeds 0, 1, 2
    python -m bench.results --only digits,mnist1d-cnn --seeds 0
    python -m bench.results --render-only        # rewrite the docs from docs/results.json
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .results_rows import ROWS, THREADS_ENV, Row
from .results_table import commands_md, docs_table, figure_md, merge, readme_table, \
    replace_region

__all__ = ["main", "record", "machine", "read_metrics", "RunFailed", "REPO"]

REPO = Path(__file__).resolve().parent.parent
Runner = Callable[[Row, str, Path], "subprocess.CompletedProcess | int"]


class RunFailed(RuntimeError):
    """A run exited non-zero or left no usable metrics.json; nothing was written."""


def cpu_model() -> str:
    """The CPU model name (/proc/cpuinfo, else lscpu) and its widest vector extension."""
    name, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    if not name:
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
            name = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                         if line.startswith("Model name")), "")
        except (OSError, subprocess.SubprocessError):
            pass
    isa = next((label for flag, label in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                          ("avx", "AVX"), ("sse4_2", "SSE4.2")) if flag in flags),
               None)
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} ({isa})" if isa else name


def blas() -> str:
    """NumPy's BLAS: the library and version it was built with and, through threadpoolctl when
    installed, the kernel set OpenBLAS picked for this CPU."""
    import numpy as np
    text = "unknown BLAS"
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"NumPy {np.__version__} with {info['name']} {info['version']}"
    except Exception:  # noqa: BLE001 - an old NumPy without mode='dicts'
        text = f"NumPy {np.__version__}, BLAS unknown"
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            if pool.get("user_api") == "blas" and pool.get("architecture"):
                text += f" ({pool['architecture']} kernels)"
                break
    except ImportError:
        pass
    return text


def machine() -> dict:
    """This machine as the store names it: CPU model, BLAS build, core count."""
    return {"cpu": cpu_model(), "blas": blas(), "cores": os.cpu_count()}


def commit() -> str:
    """The short commit the runs came from, ``+dirty`` when the library or the recorded
    settings had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--", "src", "bench/results_rows.py")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def read_metrics(path: Path, what: str) -> dict:
    """Test accuracy and epoch seconds from one run's metrics.json, or RunFailed naming it."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        accuracy, seconds = metrics["test"]["accuracy"], metrics["seconds"]
    except FileNotFoundError:
        raise RunFailed(f"{what}: no {path} (the run did not finish)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFailed(f"{what}: {path} has no test.accuracy/seconds ({exc!r})") from None
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (accuracy, seconds)) \
            or not 0.0 <= accuracy <= 1.0:
        raise RunFailed(f"{what}: {path} holds accuracy={accuracy!r}, seconds={seconds!r}")
    return {"accuracy": float(accuracy), "seconds": float(seconds)}


def train_subprocess(row: Row, seed: str, out: Path) -> int:
    """One run through the real command line; its output goes to ``out``.log."""
    env = {**os.environ, **THREADS_ENV}
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(out.with_suffix(".log"), "w", encoding="utf-8") as log:
        return subprocess.run([sys.executable, "-m", "chainrule", "train", *row.args,
                               "--seed", seed, "--out", str(out)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT).returncode


def _write(path: Path, data: str | bytes) -> None:
    from chainrule.io.atomic import atomic_open
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w", what="results") as f:
        f.write(data)


def record(names: list[str], seeds: list[str], *, repo: Path = REPO,
           runs_dir: Path | None = None, runner: Runner = train_subprocess,
           this_machine: dict | None = None, at: str | None = None,
           log: Callable[[str], None] = print) -> dict:
    """Run every (row, seed), then rewrite the store, docs/results.md, README.md and (with
    digits seed 0) the figure under ``repo``. Raises RunFailed, writing nothing, if any run
    failed; ValueError, before running anything, if a file lacks its generated regions."""
    docs, readme = repo / "docs" / "results.md", repo / "README.md"
    store_path, figure = repo / "docs" / "results.json", repo / "docs" / "digits_curves.png"
    texts = {p: p.read_text(encoding="utf-8") for p in (docs, readme)}
    store = json.loads(store_path.read_text(encoding="utf-8")) if store_path.exists() else {}
    for region, path in (("results", docs), ("commands", docs), ("results", readme),
                         ("figure", readme)):
        replace_region(texts[path], region, "", str(path))  # fail now, not after an hour
    runs_dir = runs_dir or repo / "runs" / "results"
    runs_dir.mkdir(parents=True, exist_ok=True)
    this_machine = this_machine or machine()
    at = at or datetime.date.today().isoformat()
    stamp = {"commit": commit(), "date": at}
    results: dict[str, dict[str, dict]] = {}
    failures = []
    for name in names:
        for seed in seeds:
            out = runs_dir / f"{name}-{seed}"
            if out.exists():
                shutil.rmtree(out)
            log(f"[bench.results] {name} seed {seed} -> {out}")
            code = runner(ROWS[name], seed, out)
            code = getattr(code, "returncode", code)
            try:
                if code != 0:
                    raise RunFailed(f"{name} seed {seed}: exited with status {code} "
                                    f"(its output: {out.with_suffix('.log')})")
                entry = read_metrics(out / "metrics.json", f"{name} seed {seed}")
            except RunFailed as exc:
                failures.append(str(exc))
                log(f"[bench.results] FAILED: {exc}")
                continue
            results.setdefault(name, {})[seed] = {**entry, **stamp}
            log(f"[bench.results]   test accuracy {100 * entry['accuracy']:.2f} %, "
                f"{entry['seconds']:.0f} s")
    new_figure = None
    if "0" in results.get("digits", {}):
        curves = runs_dir / "digits-0" / "curves.png"
        if curves.is_file():
            new_figure = curves.read_bytes()
        else:
            failures.append(f"digits seed 0 wrote no {curves} (is matplotlib installed?)")
    if failures:
        raise RunFailed("nothing was written, because " + "; ".join(failures))
    store = merge(store, this_machine, results)
    if new_figure is not None:  # only one machine's run is the figure
        for m in store["machines"]:
            if (m["cpu"], m["blas"]) != (this_machine["cpu"], this_machine["blas"]):
                m.pop("figure", None)
            else:
                m["figure"] = stamp
    texts[docs] = replace_region(texts[docs], "results", docs_table(store), str(docs))
    texts[docs] = replace_region(texts[docs], "commands", commands_md(), str(docs))
    texts[readme] = replace_region(texts[readme], "results",
                                   readme_table(store), str(readme))
    texts[readme] = replace_region(texts[readme], "figure", figure_md(store), str(readme))
    _write(store_path, json.dumps(store, indent=1, ensure_ascii=False) + "\n")
    if new_figure is not None:
        _write(figure, new_figure)
    for path, text in texts.items():
        _write(path, text)
    return store


def _list(text: str, allowed: list[str] | None, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{what}: empty list")
    bad = [t for t in items if (allowed is not None and t not in allowed)
           or (allowed is None and not t.isdigit())]
    if bad:
        raise argparse.ArgumentTypeError(
            f"{what}: unknown {', '.join(map(repr, bad))}"
            + (f" (choose from {', '.join(allowed)})" if allowed else " (seeds are integers)"))
    return list(dict.fromkeys(items))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.results", description=__doc__.split("\n")[0])
    p.add_argument("--only", type=lambda s: _list(s, list(ROWS), "--only"), default=list(ROWS),
                   metavar="ROW[,ROW]", help=f"rows to rerun (default all: {','.join(ROWS)})")
    p.add_argument("--seeds", type=lambda s: _list(s, None, "--seeds"), default=["0", "1", "2"],
                   metavar="S[,S]", help="seeds to run (default 0,1,2)")
    p.add_argument("--runs-dir", type=Path, default=None,
                   help="where the runs are written (default runs/results)")
    p.add_argument("--render-only", action="store_true",
                   help="run nothing: rewrite the tables from docs/results.json")
    args = p.parse_args(argv)
    try:
        record([] if args.render_only else args.only, args.seeds, runs_dir=args.runs_dir)
    except (RunFailed, ValueError) as exc:
        print(f"bench.results: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
