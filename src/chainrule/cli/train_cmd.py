"""``chainrule train``: build the run the options describe, train it and write the report.

Into ``--out``: ``model.safetensors`` (a full training checkpoint — weights, optimizer,
schedule, RNG and loader state — whose config holds the model's configuration and the run's
options, rewritten after every epoch so ``--resume`` continues exactly), ``metrics.json`` (the
final numbers: each split's loss, accuracy and error rate for the weights the checkpoint holds;
``epochs``; ``seconds``, the epochs' wall time with the per-epoch evaluations, of which
``train_seconds`` went to minibatch updates; ``samples_per_second`` of training;
``wall_seconds`` of the whole command, data loading included), ``metrics.csv`` and ``metrics.jsonl`` (one row per epoch) and ``curves.png`` /
``curves.svg`` (the learning curves).
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import RUN_KEYS, resolve_options
from .errors import CLIError

__all__ = ["run_train", "CHECKPOINT", "METRICS"]

CHECKPOINT = "model.safetensors"
METRICS = "metrics.json"


def _stored_options(path: str) -> dict[str, Any]:
    from .checkpoints import read_run
    return read_run(path)[1] or {}


class _EpochPrinter:
    """One summary line per epoch on stdout (when no progress bar prints them)."""

    order = 90

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        from ..train import format_epoch
        print(format_epoch(logs, trainer.epochs), flush=True)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _finite(value: Any) -> Any:
    """NaN and ±inf (a diverged run) become null, so metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _report(history, out: Path, o: dict, model_cfg: dict, data, wall: float) -> dict:
    from ..io import write_text
    summary = history.summary()
    for split in ("train", "val", "test"):
        if split in summary:
            summary[split] = {k: summary[split][k] for k in ("loss", "accuracy", "error_rate")
                              if k in summary[split]}
    summary["train_seconds"] = sum(r.get("train_seconds", 0.0) for r in history)
    summary["wall_seconds"] = wall
    summary["dataset"] = {"name": data.name, "source": data.source, "train": len(data.train),
                          "val": len(data.val) if data.val is not None else 0,
                          "test": len(data.test)}
    summary["model"] = model_cfg
    summary["options"] = {k: o[k] for k in RUN_KEYS}
    write_text(out / METRICS, json.dumps(_finite(summary), indent=2, allow_nan=False) + "\n")
    return summary


def _plot(history, out: Path, title: str) -> list[Path]:
    from ..train import plot_history
    try:
        return plot_history(history, out / "curves", formats=("png", "svg"),
                            monitor="val_loss" if any("val_loss" in r for r in history)
                            else "train_loss", title=title)
    except ImportError as exc:
        print(f"chainrule train: note: no learning-curve figure ({exc})", file=sys.stderr)
        return []


def run_train(args) -> int:
    import chainrule as cr
    from ..data import DataLoader
    from ..train import CSVLogger, JSONLLogger, ModelCheckpoint, ProgressBar, Trainer
    from .build import (check_options, make_callbacks, make_loss, make_optimizer,
                        make_schedule, model_from_options)
    from .data import load_data

    o = resolve_options(args, _stored_options)
    check_options(o)
    quiet = o["quiet"]
    resume = o["resume"]
    if o["epochs"] == 0 and resume is None:
        raise CLIError("--epochs 0: nothing to train (give --epochs above 0)")
    if resume is not None and not Path(resume).is_file():
        raise CLIError(f"--resume: no checkpoint at {resume!r}")
    out = Path(o["out"] if o["out"] is not None else
               Path(resume).parent if resume is not None else
               Path("runs") / f"{o['dataset']}-{o['model']}")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: {str(out)!r} exists and is not a folder")

    start = time.perf_counter()
    cr.manual_seed(o["seed"])
    data = load_data(o["dataset"], o["data_dir"], o["val_split"], verbose=not quiet)
    model = model_from_options(o, data.input_shape, data.num_classes)
    optimizer = make_optimizer(o, model)
    train_loader = DataLoader(data.train, batch_size=o["batch_size"], shuffle=True)
    val_loader = DataLoader(data.val, batch_size=1000) if data.val is not None else None
    test_loader = DataLoader(data.test, batch_size=1000)
    callbacks = make_callbacks(o, val_loader is not None)
    schedule = make_schedule(o, optimizer, len(train_loader), val_loader is not None)
    if schedule is not None:
        callbacks.append(schedule)
    config = {"model": model.config, "run": {k: o[k] for k in RUN_KEYS}}
    out.mkdir(parents=True, exist_ok=True)
    callbacks += [CSVLogger(out / "metrics.csv"), JSONLLogger(out / "metrics.jsonl"),
                  ModelCheckpoint(out, best_name=None, last_name=CHECKPOINT, config=config)]
    if not quiet:
        bar = ProgressBar()
        callbacks.append(bar)
        if not (sys.stdout.isatty()):
            callbacks.append(_EpochPrinter())
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{o['dataset']}: {len(data.train)} train, "
              f"{len(data.val) if data.val is not None else 0} val, {len(data.test)} test "
              f"items of shape {data.input_shape}; {o['model']} with {n_params:,} parameters; "
              f"{o['optimizer']} lr {optimizer.param_groups[0]['lr']:g}, "
              f"{_n(o['epochs'], 'epoch')} of batch {o['batch_size']}", flush=True)
    trainer = Trainer(model, make_loss(o, model), optimizer, callbacks=callbacks)
    # A diverging run is stopped by TerminateOnNaN and reported in one line below, so NumPy's
    # overflow warnings on the way there are only noise.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = trainer.fit(train_loader, epochs=o["epochs"], val_loader=val_loader,
                              test_loader=test_loader, resume=resume)
    if history.restored_epoch is not None:  # early stopping put the best weights back
        trainer.save_checkpoint(out / CHECKPOINT, config=config)
    diverged = history.stop_reason == "nan"
    if diverged:
        print(f"chainrule train: training diverged (a non-finite loss) in epoch "
              f"{trainer.epoch + 1}; try a smaller --lr or --clip-grad-norm", file=sys.stderr)
        if not history:
            return 1
    if not history:
        if trainer.interrupted:
            print(f"interrupted before the first epoch ended; resume with: chainrule train "
                  f"--resume {out / CHECKPOINT}", file=sys.stderr)
            return 130
        raise CLIError("--epochs 0: nothing was trained (give --epochs above 0)")
    title = f"{o['model']} on {o['dataset']}"
    summary = _report(history, out, o, model.config, data, time.perf_counter() - start)
    figures = _plot(history, out, title)
    if trainer.interrupted:
        print(f"interrupted after {_n(trainer.epoch, 'epoch')}; resume with: chainrule train "
              f"--resume {out / CHECKPOINT}", file=sys.stderr)
        return 130
    if diverged:
        return 1
    if not quiet:
        test = summary.get("test", {})
        print(f"test accuracy {100 * test.get('accuracy', float('nan')):.2f}% (loss "
              f"{test.get('loss', float('nan')):.4f}) after {_n(summary['epochs'], 'epoch')}, "
              f"{summary['seconds']:.1f} s of training"
              + (f" (weights of epoch {summary['epoch']}, early stopping)"
                 if history.restored_epoch is not None else ""))
        files = [CHECKPOINT, METRICS, "metrics.csv", "metrics.jsonl"] + [f.name for f in figures]
        print(f"wrote {out}/: {', '.join(files)}")
    return 0
