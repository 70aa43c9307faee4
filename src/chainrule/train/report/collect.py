"""Reading a run folder (what ``chainrule train`` wrote) into the values the report page shows.

``metrics.json`` (the final numbers) is shown when present — a run that diverged before its
first epoch ended has one without split metrics, an older one none at all — and the page then
says the run has no final metrics; a folder with none of metrics.json, the checkpoint and
health.json is no run folder (an error). The checkpoint (``model.safetensors``: the model's configuration
and weights, the run's options), the per-epoch log (``metrics.jsonl``), the learning curves
(``curves.svg`` / ``curves.png``) and the gradient-health record (``health.json``,
``health.png``) are shown when present, and the page says which are missing. A damaged file is
an error naming it.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from .errors import ReportError
from .figures import figure
from .health import HEALTH, health_figures, read_health
from .layers import layer_table

__all__ = ["collect_run", "METRICS", "CHECKPOINT", "EPOCH_LOG"]

METRICS = "metrics.json"
CHECKPOINT = "model.safetensors"
EPOCH_LOG = "metrics.jsonl"
SPLITS = (("train", "training"), ("val", "validation"), ("test", "test"))
# per-epoch columns shown, in order, when the log has them
EPOCH_COLUMNS = ("epoch", "train_loss", "val_loss", "test_loss", "train_error_rate",
                 "val_error_rate", "test_error_rate", "lr", "epoch_seconds")

#: builds the command line that reproduces a run from its options and its folder
CommandBuilder = Callable[[dict, str], str]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path} is missing ({what})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {path} ({exc})") from None
    except ValueError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc})") from None


def _read_checkpoint(path: Path) -> tuple[Any, str | None]:
    """The checkpoint, or ``(None, why it is not shown)``."""
    if not path.is_file():
        return None, f"{path.name} is missing"
    from ..checkpointing import CheckpointError, read_checkpoint
    try:
        return read_checkpoint(path), None
    except CheckpointError as exc:
        raise ReportError(str(exc)) from None
    except ImportError as exc:  # a reader the environment lacks
        return None, f"{path.name} could not be read ({exc})"


def _metric_rows(metrics: dict) -> list[dict]:
    rows = []
    for split, name in SPLITS:
        values = metrics.get(split)
        if isinstance(values, dict):
            rows.append({"split": name, **{k: _number(values.get(k))
                                           for k in ("loss", "accuracy", "error_rate")}})
    return rows


def _number(value: Any) -> float | None:
    """A finite number, or None (shown as a dash: diverged, or not measured)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _epochs(run_dir: Path, ckpt: Any) -> tuple[list[str], list[dict]]:
    path = run_dir / EPOCH_LOG
    if path.is_file():
        from ..callbacks import read_jsonl
        try:
            rows = read_jsonl(path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ReportError(f"cannot read {path} ({exc})") from None
    elif ckpt is not None:
        rows = [dict(r) for r in ckpt.history]
    else:
        rows = []
    rows = [r for r in rows if isinstance(r, dict)]
    columns = [c for c in EPOCH_COLUMNS if any(c in r for r in rows)]
    return columns, [{c: r.get(c) for c in columns} for r in rows]


def _as_items(table: Any) -> list[tuple[str, Any]]:
    return list(table.items()) if isinstance(table, dict) else []


def _summary(metrics: dict) -> list[tuple[str, Any]]:
    items = [("epochs trained", metrics.get("epochs")),
             ("weights of epoch", metrics.get("epoch")),
             ("stopped early because", metrics.get("stop_reason")),
             ("training time (s)", _number(metrics.get("seconds"))),
             ("of it, minibatch updates (s)", _number(metrics.get("train_seconds"))),
             ("whole command (s)", _number(metrics.get("wall_seconds"))),
             ("training samples per second", _number(metrics.get("samples_per_second")))]
    return [(k, v) for k, v in items if v is not None]


def _model_parts(metrics: dict, ckpt: Any) -> tuple[dict | None, dict | None]:
    """(model configuration, run options), the checkpoint's first (the options as given:
    ``lr`` null where the optimizer's default was used), metrics.json's otherwise."""
    config = getattr(ckpt, "config", None)
    model = run = None
    if isinstance(config, dict):
        model = config.get("model") if isinstance(config.get("model"), dict) else None
        run = config.get("run") if isinstance(config.get("run"), dict) else None
    if model is None and isinstance(metrics.get("model"), dict):
        model = metrics["model"]
    if run is None and isinstance(metrics.get("options"), dict):
        run = metrics["options"]
    return model, run


def _mark_verdicts(rows: list[dict], health: dict | None) -> None:
    """Give each layer row the kinds of the verdicts about it (or one of its parameters)."""
    verdicts = health["verdicts"] if health else []
    for row in rows:
        row["verdicts"] = [v["kind"] for v in verdicts if v["layer"] is not None and (
            v["layer"] == row["name"] or v["layer"].startswith(row["name"] + "."))]


def _invocations(metrics: dict, ckpt: Any, options: dict | None) -> list[dict]:
    """The option sets of the commands that trained the run, the first then each resume
    (the checkpoint's record, else metrics.json's, else the one set of options known)."""
    config = getattr(ckpt, "config", None)
    for source in (config if isinstance(config, dict) else {}, metrics):
        got = source.get("invocations")
        if isinstance(got, list) and got and all(isinstance(i, dict) for i in got):
            return [dict(i) for i in got]
    return [dict(options)] if options is not None else []


def _rerun_folder(run_dir: Path) -> str:
    """A sibling folder for the reproducing commands (runs/x → runs/x-again), so running
    them does not overwrite this run."""
    if run_dir.name:
        return str(run_dir.parent / f"{run_dir.name}-again")
    here = run_dir.resolve()
    return str(here.parent / f"{here.name or 'run'}-again")


def _commands(command: CommandBuilder | None, invocations: list[dict], out: str) -> list[str]:
    """The command lines that reproduce the run into ``out``: the first command, then each
    resume (``command(options, out, resumed_from=previous options)``); a ``--tensorboard``
    folder becomes ``out/tensorboard``."""
    if command is None or not invocations:
        return []
    # a rerun logs its TensorBoard events beside its own files, not into the original run's
    invocations = [{**o, "tensorboard": str(Path(out) / "tensorboard")}
                   if o.get("tensorboard") is not None else o for o in invocations]
    lines = [command(invocations[0], out)]
    for before, after in zip(invocations, invocations[1:]):
        lines.append(command(after, out, resumed_from=before))
    return lines


def _no_metrics_note(metrics: dict, have: list[str], health: dict | None) -> str | None:
    """Why the page has no final metrics (None when it has them)."""
    if _metric_rows(metrics):
        return None
    reason = metrics.get("stop_reason")
    if reason in ("diverged", "nan"):
        what = "diverged" if reason == "diverged" else "reached a non-finite loss"
        told = " (see the verdicts under Gradient health)" if health is not None else ""
        return (f"The run {what} before its first epoch ended, so it has no final "
                f"metrics{told}.")
    if METRICS not in have:
        return (f"{METRICS} is missing: the run has no final metrics (it may have stopped "
                "before its first epoch ended, or crashed).")
    return f"{METRICS} holds no split's metrics."


def collect_run(run_dir: str | Path, command: CommandBuilder | None = None) -> dict[str, Any]:
    """Everything the report page of ``run_dir`` shows, as plain values. ``command(options,
    run_dir)``, when given, writes the command line that reproduces the run."""
    from ... import __version__
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"no run folder at {str(run_dir)!r}" if not run_dir.exists() else
                          f"{str(run_dir)!r} is not a folder; give the run folder 'chainrule "
                          "train --out' wrote")
    have = [name for name in (METRICS, CHECKPOINT, HEALTH) if (run_dir / name).is_file()]
    if not have:
        raise ReportError(f"{run_dir} holds no run: {METRICS}, {CHECKPOINT} and {HEALTH} are "
                          "all missing ('chainrule train --out' writes them); is this the "
                          "run's folder?")
    metrics: dict = {}
    if METRICS in have:
        metrics = _read_json(run_dir / METRICS, "")
        if not isinstance(metrics, dict):
            raise ReportError(f"{run_dir / METRICS} holds {type(metrics).__name__}, not the "
                              "metrics object 'chainrule train' writes")
    if metrics.get("epochs") == 0 and CHECKPOINT in have:
        # no epoch of this run ended, so the checkpoint there is an earlier run's
        ckpt, ckpt_note = None, (f"{CHECKPOINT} is from an earlier run in this folder (this "
                                 "one ended before its first epoch)")
    else:
        ckpt, ckpt_note = _read_checkpoint(run_dir / CHECKPOINT)
    model_config, options = _model_parts(metrics, ckpt)
    invocations = _invocations(metrics, ckpt, options)
    if model_config is None:
        layers = {"rows": [], "total": None, "trainable": None,
                  "note": ckpt_note or f"{CHECKPOINT} holds no model configuration"}
    else:
        layers = layer_table(model_config, ckpt.model_state if ckpt is not None else None,
                             str(run_dir / CHECKPOINT))
        if ckpt_note:
            layers["note"] = f"{ckpt_note}; the layers are rebuilt from {METRICS}"
    columns, epochs = _epochs(run_dir, ckpt)
    health = read_health(run_dir)
    _mark_verdicts(layers["rows"], health)
    again = _rerun_folder(run_dir)
    commands = _commands(command, invocations, again)
    return {
        "title": run_dir.resolve().name or str(run_dir),
        "run_dir": str(run_dir),
        "version": __version__,
        "command": commands[0] if commands else None,
        "commands": commands,
        "rerun_dir": again,
        "resumes": max(len(invocations) - 1, 0),
        "no_metrics": _no_metrics_note(metrics, have, health),
        "dataset": metrics.get("dataset") if isinstance(metrics.get("dataset"), dict) else None,
        "model_config": _as_items(model_config),
        # as used: metrics.json's lr is the rate the run started from, never null
        "options": _as_items(metrics.get("options") if isinstance(metrics.get("options"), dict)
                             else options),
        "optimizer": _as_items(metrics.get("optimizer")),
        "metrics": _metric_rows(metrics),
        "summary": _summary(metrics),
        "epoch_columns": columns,
        "epochs": epochs,
        "curves": figure(run_dir, "curves", "learning curves: loss and error rate per epoch"),
        "health": health,
        "health_file": HEALTH,
        "health_figures": health_figures(run_dir),
        "layers": layers,
    }
