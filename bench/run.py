"""The benchmark suite of issue #9: chainrule against PyTorch on workloads A–F.

    python -m bench                      # everything, 5 alternating fresh-process rounds
    python -m bench --only A,F --rounds 7
    python -m bench --quick              # a couple of steps each: checks the suite runs
    python -m bench --threads 1          # BLAS and PyTorch single-threaded (steadier under load)
    python -m bench --only G --fraction 0.1   # G on a tenth of its 60,000-example epoch
    python -m bench --only H --runs 2         # H with 2 runs per library and condition

Prints a header (machine, load, versions), a table of medians, ratios and the targets, then one
JSON line per row. See bench/RESULTS.md for the conventions and recorded runs.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

if not __package__:  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import suite  # noqa: E402

ALL = ("A", "B", "C", "D", "E", "F", "G", "H")


def _versions() -> dict:
    code = ("import json, os, numpy, torch, chainrule, chainrule._blas as b; print(json.dumps("
            "{'numpy': numpy.__version__, 'torch': torch.__version__, "
            "'chainrule_path': os.path.dirname(chainrule.__file__), 'blas': b.blas_info(), "
            "'gemm': {k: v for k, v in b.gemm_info(calibrate=True).items() if k != 'records'}, "
            "'onednn': __import__('chainrule._onednn', fromlist=['info']).info()}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=suite.harness.ROOT).stdout.strip() or "?"
    except OSError:
        return "?"


def cpu_model() -> str:
    """lscpu's model name (else /proc/cpuinfo's), for every row."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine(v: dict | None = None) -> dict:
    """The fields every row carries: CPU model, the BLAS chainrule drives, its thread count, the
    engine of float32 convolutions."""
    v = v or _versions()
    b, d = v["blas"], v.get("onednn", {})
    return {"cpu": cpu_model(), "blas": b["library"], "blas_threads": b["num_threads"],
            "conv": f"oneDNN {d['version']}" if d.get("enabled") else "im2col + GEMM"}


def gemm_line(g: dict) -> str:
    """Which library runs which GEMM bucket (chainrule._blas.gemm_info)."""
    if not g.get("enabled"):
        return "NumPy's @ for all (no fast library installed or enabled)"
    by_lib: dict = {}
    for bucket, lib in sorted(g.get("buckets", {}).items()):
        by_lib.setdefault(lib, []).append(bucket)
    return ("; ".join(f"{lib}: {' '.join(bs)}" for lib, bs in by_lib.items())
            + f"; NumPy elsewhere; plan {'calibrated now' if g.get('calibrated') else 'cached'}")


def onednn_line(d: dict) -> str:
    """Which engine runs float32 convolutions (chainrule._onednn.info)."""
    if d.get("enabled"):
        return f"oneDNN {d['version']} ({d['path']})"
    return "im2col + GEMM (NumPy path" + ("; oneDNN found but disabled)" if d.get("found")
                                          else "; oneDNN not installed)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def header(cfg: suite.Config) -> str:
    v = _versions()
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    threads = (f"threads={cfg.threads} (BLAS and PyTorch)" if cfg.threads else
               f"PyTorch threads={os.cpu_count()}, BLAS default")
    m = machine(v)
    return (f"chainrule vs PyTorch, issue #9 suite — {datetime.datetime.now():%Y-%m-%d %H:%M}, "
            f"cpus={os.cpu_count()}, {threads}{' ' + str(env) if env else ''}\n"
            f"CPU {m['cpu']}; BLAS {m['blas']}, {m['blas_threads']} threads "
            f"(one below m·n·k {v['blas']['threshold']:,})\n"
            f"GEMM {gemm_line(v.get('gemm', {}))}\n"
            f"convolution {onednn_line(v.get('onednn', {}))}\n"
            f"numpy {v['numpy']}, torch {v['torch']}, chainrule from {v['chainrule_path']} "
            f"(repo HEAD {_git_head()}); rounds={cfg.rounds}{', QUICK' if cfg.quick else ''}; "
            f"load average at start {_load()}")


def _fmt(x, unit: str = "") -> str:
    if x is None:
        return "not reached" if unit == "s" else "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def table(rows: list) -> str:
    head = (f"{'':3}{'metric':<24}{'chainrule':>12}{'PyTorch':>12}{'ratio':>8}{'target':>9}"
            f"{'met':>5}   {'thread CPU: chainrule':>21}{'PyTorch':>12}{'ratio':>7}{'met':>5}")
    lines = [head]
    for r in rows:
        if "skipped" in r:
            lines.append(f"{r['workload']:<3}skipped: {r['skipped']}")
            continue
        met = "—" if r["met"] is None else _fmt(r["met"])
        line = (f"{r['workload']:<3}{r['metric']:<24}{_fmt(r['chainrule'], r['unit']):>12}"
                f"{_fmt(r['torch'], r['unit']):>12}{_fmt(r['ratio']):>8}{r['target']:>9}"
                f"{met:>5}")
        if "chainrule_cpu" in r:
            cmet = "—" if r.get("cpu_met") is None else _fmt(r["cpu_met"])
            line += (f"   {_fmt(r['chainrule_cpu'], r['unit']):>21}"
                     f"{_fmt(r.get('torch_cpu'), r['unit']):>12}"
                     f"{_fmt(r.get('cpu_ratio', r['chainrule_cpu'])):>7}{cmet:>5}")
        lines.append(line)
    return "\n".join(lines)


def notes(rows: list) -> list:
    """Plain-language details under the table: what each row's ratio is made of."""
    out = []
    for r in rows:
        w, f = r["workload"], _fmt
        if "skipped" in r:
            continue
        if w in "AB":
            out.append(f"{w}: step {f(r['chainrule_step_ms'])} ms vs {f(r['torch_step_ms'])} ms "
                       f"(wall), {f(r['chainrule_cpu_step_ms'])} vs {f(r['torch_cpu_step_ms'])} "
                       f"ms (thread CPU), {f(r['chainrule_proc_step_ms'])} vs "
                       f"{f(r['torch_proc_step_ms'])} ms (process CPU, all threads)"
                       + ("; same first loss" if r["same_start"] else
                          f"; WARNING: first losses differ by {r['first_loss_gap']}"))
        elif w == "D":
            out.append(f"D: after imports {f(r['chainrule_import_mib'])} MiB vs "
                       f"{f(r['torch_import_mib'])} MiB (bare interpreter "
                       f"{f(r['interpreter_mib'])} MiB)")
        elif w == "E":
            out.append(f"E: reached in {r['chainrule_reached']}/{r['rounds']} vs "
                       f"{r['torch_reached']}/{r['rounds']} rounds (seeds {r['seeds']}; cap "
                       f"{f(r['max_seconds'])} s or {r['max_steps']:,} steps), median "
                       f"{f(r['chainrule_steps'])} vs {f(r['torch_steps'])} steps; "
                       f"{f(r['chainrule_ms_per_step'])} vs {f(r['torch_ms_per_step'])} ms per "
                       f"step with evaluations (ratio {f(r['ms_per_step_ratio'])}); best "
                       f"accuracy {r['chainrule_best_accuracy']} vs {r['torch_best_accuracy']}")
        elif w == "G":
            out.append(f"G ({r['case']}): {r['examples']:,} examples, epoch "
                       f"{f(r['chainrule_epoch_s'])} s vs {f(r['torch_epoch_s'])} s, step "
                       f"{f(r['chainrule_step_ms'])} vs {f(r['torch_step_ms'])} ms"
                       + ("; same first loss" if r["same_start"] else
                          f"; WARNING: first losses differ by {r['first_loss_gap']}"))
        elif w == "H":
            out.append(f"H ({r['condition']}, {r['runs']} runs each): median "
                       f"{f(r['chainrule_median'])} s vs {f(r['torch_median'])} s; chainrule's "
                       f"worst {f(r['worst_over_idle_median'])}x its idle median (target <= 3: "
                       f"{'met' if r['worst_over_idle_met'] else 'not met'}); test accuracy "
                       f"{r['chainrule_test_accuracy']} vs {r['torch_test_accuracy']}")
        elif w == "F":
            out.append(f"F: NumPy sgemm 128x784x512 {f(r['gemm_gflops'])} GFLOP/s "
                       f"({f(r['gemm_ms'])} ms) → roofline step {f(r['roofline_step_ms'])} ms "
                       f"for {r['flops_per_step']:,} FLOPs; chainrule's step "
                       f"{f(r['chainrule_step_ms'])} ms, {f(r['multiple_of_medians'])}× from the "
                       f"medians (the table: median of per-round multiples, step and GEMM timed "
                       f"in the same process)")
    return out


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(prog="python -m bench",
                                 description="chainrule vs PyTorch: issue #9's benchmark suite")
    ap.add_argument("--only", default=",".join(ALL),
                    help="comma-separated workloads to run (A-H; F brings A along)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternating fresh-process rounds per side (default 5; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="a couple of steps per workload: checks the suite, measures nothing")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS (OPENBLAS/OMP/MKL_NUM_THREADS) and PyTorch to this many "
                         "threads (default: PyTorch uses every CPU, BLAS its default)")
    ap.add_argument("--fraction", type=float, default=None,
                    help="G: train on this fraction of the 60,000-example epoch (0 < F <= 1)")
    ap.add_argument("--runs", type=int, default=None,
                    help="H: runs per library and condition (default 10; 1 with --quick)")
    args = ap.parse_args(argv)
    if args.fraction is not None and not 0 < args.fraction <= 1:
        ap.error(f"--fraction must lie in (0, 1], got {args.fraction}")
    if args.runs is not None and args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    only = tuple(w.strip().upper() for w in args.only.split(",") if w.strip())
    bad = [w for w in only if w not in ALL]
    if bad:
        ap.error(f"--only: unknown workload(s) {bad}; choose from {','.join(ALL)}")
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    cfg = suite.Config(only=only, rounds=rounds, quick=args.quick, threads=args.threads,
                       fraction=args.fraction, runs=args.runs,
                       progress=lambda msg: print(f"  ... {msg}  (load {_load()})",
                                                  file=sys.stderr, flush=True))
    print(header(cfg), flush=True)
    rows = suite.run(cfg)
    where = machine()
    rows = [dict(r, **where) for r in rows]
    print(f"load average at end {_load()}")
    print(table(rows))
    for line in notes(rows):
        print(line)
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    return rows


if __name__ == "__main__":
    main()
