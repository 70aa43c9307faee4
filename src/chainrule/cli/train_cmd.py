"""``chainrule train``: build the run the options describe, train it and write the report.

Into ``--out``: ``model.safetensors`` (a full training checkpoint — weights, optimizer,
schedule, RNG and loader state — whose config holds the model's configuration and the run's
options, rewritten after every epoch so ``--resume`` continues exactly), ``metrics.json`` (the
final numbers: each split's loss, accuracy and error rate for the weights the checkpoint holds;
``epochs``; the three times of :data:`FIELDS`, which metrics.json itself carries under
``"fields"``; ``samples_per_second`` of training; ``options``, the run's options with ``lr``
the learning rate the run started from (the optimizer's default when ``--lr`` was not given);
``optimizer``, the settings the optimizer actually trained with — after a ``--resume``'s
changes, see :mod:`.resume`; ``invocations``, the option sets of the first command and of each
``--resume`` since, also kept in the checkpoint's config, from which the report writes the
commands that reproduce the run; ``world_size``, how many MPI ranks trained (``mpiexec -n N
chainrule train ...`` trains on N ranks with the same global batch and gets the same result;
only rank 0 prints and writes); a run that diverged before its first epoch ended gets one
too, with ``epochs`` 0 and no split metrics),
``metrics.csv`` and ``metrics.jsonl`` (one row per epoch), ``curves.png`` / ``curves.svg``
(the learning curves) and, unless ``--no-health``, ``health.json`` / ``health.png`` (the
gradient-health monitor, :class:`~chainrule.train.callbacks.GradientHealth`; a fresh or
``--no-health`` run first removes those an earlier run left in ``--out``).
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
from .device import resolve_device
from .errors import CLIError

__all__ = ["run_train", "CHECKPOINT", "METRICS", "FIELDS"]

CHECKPOINT = "model.safetensors"
METRICS = "metrics.json"
# What metrics.json's time fields count; written into it as "fields".
FIELDS = {
    "seconds": "wall time of all epochs (of every run that trained this checkpoint, resumes "
               "included): minibatch updates plus the per-epoch evaluations of each split",
    "train_seconds": "the part of seconds spent on minibatch updates (forward, backward, "
                     "optimizer step)",
    "wall_seconds": "wall time of this chainrule train command alone: data loading, model "
                    "building, training, evaluation and writing the files",
}


class _Stored:
    """The ``--resume`` checkpoint's run options and the learning rate it stopped at, read
    once."""

    def __init__(self):
        self.options: dict[str, Any] = {}
        self.model: dict[str, Any] = {}
        self.lr_now: float | None = None
        self.epoch = 0
        self.stopped: str | None = None  # why its training ended early (early stopping)
        self.health: bool | None = None  # the stored run's --health / --no-health
        self.invocations: list[dict[str, Any]] = []  # the option sets of its commands

    def __call__(self, path: str) -> dict[str, Any]:
        from .checkpoints import read_run
        model, run, ckpt = read_run(path)
        self.options, self.model = dict(run or {}), dict(model)
        self.epoch = int(ckpt.epoch or 0)
        stored = (ckpt.config or {}).get("invocations") if isinstance(ckpt.config, dict) else None
        self.invocations = [dict(i) for i in stored if isinstance(i, dict)] \
            if isinstance(stored, list) else []
        if not self.invocations and self.options:  # a checkpoint from before they were kept
            self.invocations = [dict(self.options)]
        report = (ckpt.config or {}).get("report") if isinstance(ckpt.config, dict) else None
        if isinstance(report, dict) and isinstance(report.get("health"), bool):
            self.health = report["health"]
        if (ckpt.extra or {}).get("stop_training"):
            self.stopped = getattr(ckpt.history, "stop_reason", None) or "a stop"
        groups = (ckpt.optimizer_state or {}).get("param_groups") or [{}]
        lr = groups[0].get("lr") if isinstance(groups[0], dict) else None
        self.lr_now = float(lr) if isinstance(lr, (int, float)) else None
        return self.options


class _EpochPrinter:
    """One summary line per epoch on stdout (when no progress bar prints them)."""

    order = 90
    rank_zero_only = True

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


def _report(history, out: Path, o: dict, model_cfg: dict, data, wall: float,
            used: dict, invocations: list[dict], device: str = "cpu",
            world_size: int = 1) -> dict:
    """Write metrics.json. A run that stopped before its first epoch ended (diverged in
    epoch 1) has no split metrics: metrics.json then holds what is known — ``epochs`` 0, the
    ``stop_reason``, the dataset, model, options and optimizer — so the report can show it."""
    from ..io import write_text
    summary = history.summary() if history else {"epoch": 0, "epochs": 0,
                                                  "stop_reason": history.stop_reason}
    for split in ("train", "val", "test"):
        if split in summary:
            summary[split] = {k: summary[split][k] for k in ("loss", "accuracy", "error_rate")
                              if k in summary[split]}
    summary["train_seconds"] = sum(r.get("train_seconds", 0.0) for r in history)
    summary["wall_seconds"] = wall
    summary["fields"] = dict(FIELDS)
    summary["dataset"] = {"name": data.name, "source": data.source, "train": len(data.train),
                          "val": len(data.val) if data.val is not None else 0,
                          "test": len(data.test)}
    summary["model"] = model_cfg
    summary["options"] = {k: o[k] for k in RUN_KEYS}
    summary["options"]["lr"] = used.get("start_lr", o["lr"])  # the value used, never null
    summary["optimizer"] = used
    summary["invocations"] = invocations  # the option sets of the first command and resumes
    summary["device"] = device          # where it computed (--device auto resolved)
    summary["world_size"] = world_size  # MPI ranks that trained (mpiexec -n N)
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


def _optimizer_used(o: dict, optimizer, start_lr: float) -> dict:
    """What the optimizer actually trains with (after a resume's changes): its start
    learning rate (the schedule's base), the rate of the first step and the other settings."""
    group = optimizer.param_groups[0]
    used = {"name": o["optimizer"], "start_lr": start_lr, "lr": float(group["lr"])}
    used.update({k: group[k] for k in ("weight_decay", "momentum", "nesterov") if k in group})
    return used


def _stretch_line(o: dict, stored: _Stored, plan, lr_next: float) -> str | None:
    """A resumed cosine schedule whose horizon --epochs moved: where its lr was and where it
    continues (the schedule keeps its step; it never starts over from the stored end)."""
    before = stored.options.get("epochs")
    if (plan is None or plan.fresh_schedule or o["lr_schedule"] != "cosine"
            or not isinstance(before, int) or before == o["epochs"]):
        return None
    how = "stretched" if o["epochs"] > before else "shrunk"
    was = f"{stored.lr_now:.3g}" if stored.lr_now is not None else "unknown"
    return (f"resume: cosine schedule {how} from {before} to {o['epochs']} epochs: lr was "
            f"{was} after epoch {stored.epoch}, continues at {lr_next:.3g} (the {how} "
            f"cosine's value there) and anneals to 0 by epoch {o['epochs']}")


def _remove_stale_health(out: Path, monitored: bool, resumed: bool) -> None:
    """health.json / health.png in ``out`` belong to an earlier run unless this one continues
    it with the monitor on: a run without the monitor (--no-health) removes them, and so does
    a fresh run (it writes its own when training ends), so the page never shows another
    run's verdicts."""
    if monitored and resumed:
        return
    from ..train.health.files import HEALTH_JSON, HEALTH_PNG
    for name in (HEALTH_JSON, HEALTH_PNG):
        (out / name).unlink(missing_ok=True)


def _cast_inputs(data, dtype: str, who: str = "--dtype") -> None:
    """Give every split's floating-point inputs ``dtype`` (datasets held in memory)."""
    for split in (data.train, data.val, data.test):
        if split is None:
            continue
        inputs = getattr(split, "inputs", None)
        if not isinstance(inputs, np.ndarray):
            raise CLIError(f"{who} {dtype}: {data.name}'s items are not held in memory as one "
                           "array, so they cannot be converted; train it in float32")
        if inputs.dtype.kind == "f" and inputs.dtype != np.dtype(dtype):
            split.inputs = inputs.astype(dtype)


def run_train(args) -> int:
    """``chainrule train``; under ``mpiexec -n N`` a failure on one rank stops them all."""
    from ..train.data_parallel import abort_world, detect_world
    from ..backend import get_default_dtype, set_default_dtype
    rank, world_size = detect_world()
    dtype = get_default_dtype()     # --dtype sets it for the run; restored after
    try:
        return _run_train(args, rank, world_size)
    except BaseException as error:  # noqa: BLE001 - the other ranks would wait forever
        if world_size > 1:
            abort_world(error, " in chainrule train")
        raise
    finally:
        set_default_dtype(dtype)


def _run_train(args, rank: int, world_size: int) -> int:
    import chainrule as cr
    from ..data import DataLoader
    from ..train import CSVLogger, JSONLLogger, ModelCheckpoint, ProgressBar
    from .build import (check_options, make_callbacks, make_loss, make_optimizer,
                        make_schedule, model_from_options)
    from .data import check_dataset, load_data
    from .errors import phase
    from .resume import ApplyPlan, ResumePlan, check_architecture, check_progress, start_lr
    from ..train import DIVERGENCE_FACTOR, LambdaCallback, TerminateOnDivergence, Trainer

    stored, sources = _Stored(), {}
    o = resolve_options(args, stored, sources)
    if stored.health is not None and "health" not in sources:
        o["health"] = stored.health   # a resume keeps the run's --no-health unless told
    check_options(o, sources)
    if rank != 0:   # under mpiexec: rank 0 alone prints (errors included: every rank fails)
        o["quiet"] = True
    quiet = o["quiet"]
    resume = o["resume"]
    plan = ResumePlan(stored.options, o, sources) if resume is not None else None
    lr0 = plan.new_start if plan is not None else start_lr(o)
    if o["epochs"] == 0 and resume is None:
        raise CLIError("--epochs 0: nothing to train (give --epochs above 0)")
    if resume is not None and not Path(resume).is_file():
        raise CLIError(f"--resume: no checkpoint at {resume!r}")
    if resume is not None:
        check_architecture(stored.model, o, sources, resume)
        complete = check_progress(stored.epoch, stored.stopped, o, sources, resume)
        if complete is not None:  # nothing to train: every output stays as it is
            if not quiet:
                print(complete, flush=True)
            return 0
    check_dataset(o["dataset"], o["data_dir"],
                  "--dataset" if "dataset" in sources or resume is None
                  else f"checkpoint {resume}: stored dataset")
    out = Path(o["out"] if o["out"] is not None else
               Path(resume).parent if resume is not None else
               Path("runs") / f"{o['dataset']}-{o['model']}")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: {str(out)!r} exists and is not a folder")
    if o["tensorboard"] is not None:  # stored absolute: a resume from elsewhere continues it
        o["tensorboard"] = str(Path(o["tensorboard"]).absolute())
        if Path(o["tensorboard"]).exists() and not Path(o["tensorboard"]).is_dir():
            raise CLIError(f"--tensorboard: {o['tensorboard']!r} exists and is not a folder")

    device = resolve_device(o.get("device"))   # before any work: a missing GPU fails now
    start = time.perf_counter()
    cr.manual_seed(o["seed"])
    with phase(f"loading {o['dataset']}", "--dataset and --val-split"):
        data = load_data(o["dataset"], o["data_dir"], o["val_split"], verbose=not quiet)
    dtype = o.get("dtype", "float32")
    if dtype != "float32":
        _cast_inputs(data, dtype)
        cr.set_default_dtype(np.dtype(dtype))
    with phase("building the model", "--hidden, --channels and --model"):
        model = model_from_options(o, data.input_shape, data.num_classes, sources, resume)
        model.to(device)                         # the Trainer moves each batch to it
        optimizer = make_optimizer(o, model)
    train_loader = DataLoader(data.train, batch_size=o["batch_size"], shuffle=True,
                              num_workers=o.get("workers", 0),
                              persistent_workers=o.get("workers", 0) > 0)
    val_loader = DataLoader(data.val, batch_size=1000) if data.val is not None else None
    test_loader = DataLoader(data.test, batch_size=1000)
    callbacks = make_callbacks(o, val_loader is not None)
    schedule = make_schedule(o, optimizer, len(train_loader), val_loader is not None)
    if schedule is not None:
        callbacks.append(schedule)
    invocations = (stored.invocations if resume is not None else []) + \
        [{k: o[k] for k in RUN_KEYS}]
    config = {"model": model.config, "run": {k: o[k] for k in RUN_KEYS},
              "invocations": invocations, "report": {"health": bool(o["health"])}}
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_health(out, o["health"], resume is not None)
    callbacks += [CSVLogger(out / "metrics.csv"), JSONLLogger(out / "metrics.jsonl"),
                  ModelCheckpoint(out, best_name=None, last_name=CHECKPOINT, config=config)]
    if o["tensorboard"] is not None:
        from ..train.callbacks import TensorBoard
        callbacks.append(TensorBoard(o["tensorboard"]))
    if o["health"]:  # warnings go to stderr, so --quiet keeps them
        from ..train.callbacks import GradientHealth
        callbacks.append(GradientHealth(out_dir=out))
    if not quiet:
        bar = ProgressBar()
        callbacks.append(bar)
        if not (sys.stdout.isatty()):
            callbacks.append(_EpochPrinter())
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{o['dataset']}: {len(data.train)} train, "
              f"{len(data.val) if data.val is not None else 0} val, {len(data.test)} test "
              f"items of shape {data.input_shape}; {o['model']} with {n_params:,} parameters; "
              f"{o['optimizer']} lr {lr0:g}, "
              f"{_n(o['epochs'], 'epoch')} of batch {o['batch_size']}", flush=True)
        if plan is not None and plan.message:
            print(plan.message, flush=True)
    used: dict = {}

    def record(trainer) -> None:  # once a resume's checkpoint and changes are in
        used.update(_optimizer_used(o, optimizer, lr0))
        line = _stretch_line(o, stored, plan, used["lr"])
        if line and not quiet:
            print(line, flush=True)

    callbacks.append(LambdaCallback(order=5, on_train_begin=record))
    if plan is not None:
        callbacks.append(ApplyPlan(plan, schedule, stored.lr_now))
    trainer = Trainer(model, make_loss(o, model), optimizer, callbacks=callbacks)
    # A diverging run is stopped by TerminateOnDivergence and reported in one line below, so
    # NumPy's overflow warnings on the way there are only noise.
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                phase("training", "--batch-size, --hidden and --channels"):
            history = trainer.fit(train_loader, epochs=o["epochs"], val_loader=val_loader,
                                  test_loader=test_loader, resume=resume,
                                  skip=plan.skip if plan is not None else ())
    except KeyboardInterrupt:  # a second Ctrl-C, while the first one's checkpoint was saved
        saved = out / CHECKPOINT
        print(f"interrupted again before the checkpoint was saved; "
              + (f"{saved} holds the last complete save" if saved.is_file() else
                 "no checkpoint was written"), file=sys.stderr)
        return 130
    if rank != 0:   # rank 0 writes the checkpoint, the report and the figures
        return 130 if trainer.interrupted else 1 if history.stop_reason in ("nan", "diverged") \
            else 0
    if history.restored_epoch is not None:  # early stopping put the best weights back
        trainer.save_checkpoint(out / CHECKPOINT, config=config)
    diverged = history.stop_reason in ("nan", "diverged")
    if diverged:
        watch = next(cb for cb in callbacks if isinstance(cb, TerminateOnDivergence))
        what = ("a non-finite loss" if history.stop_reason == "nan" else
                f"the minibatch loss reached {watch.last_loss:.3g}, over "
                f"{DIVERGENCE_FACTOR:g} times the first batch's {watch.reference:.3g}")
        print(f"chainrule train: training diverged ({what}) in epoch {trainer.epoch + 1}; "
              "try a smaller --lr or --clip-grad-norm", file=sys.stderr)
        if not history:  # no epoch ended: still a page with the verdicts and the options
            _report(history, out, o, model.config, data, time.perf_counter() - start, used,
                    invocations, str(device), world_size)
            from .report_cmd import report_after_training
            report_after_training(out)
            return 1
    if not history:
        if trainer.interrupted:
            print(f"interrupted before the first epoch ended; resume with: chainrule train "
                  f"--resume {out / CHECKPOINT}", file=sys.stderr)
            return 130
        raise CLIError("--epochs 0: nothing was trained (give --epochs above 0)")
    title = f"{o['model']} on {o['dataset']}"
    summary = _report(history, out, o, model.config, data, time.perf_counter() - start, used,
                      invocations, str(device), world_size)
    figures = _plot(history, out, title)
    from .report_cmd import report_after_training
    page = report_after_training(out)  # report.html; a one-line note without Jinja2
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
        files += [f.name for cb in callbacks for f in getattr(cb, "files", ())]
        files += [page.name] if page is not None else []
        print(f"wrote {out}/: {', '.join(files)}")
        if o["tensorboard"] is not None:
            print(f"TensorBoard events in {o['tensorboard']} (view: tensorboard --logdir "
                  f"{o['tensorboard']})")
    return 0
