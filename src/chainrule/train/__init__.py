"""``chainrule.train``: the training loop, its records and its helpers.

    fit(model, loss_fn, optimizer, train_loader, epochs=10, val_loader=val)  -> History
    evaluate(model, loader, loss_fn)                                        -> {'loss', ...}
    callbacks: EarlyStopping, ModelCheckpoint, LRSchedulerCallback, GradientClipping,
               ProgressBar, CSVLogger, JSONLLogger, TerminateOnNaN, TerminateOnDivergence
               (stops on a loss DIVERGENCE_FACTOR times the first batches'), GradientHealth
               (per-layer gradient health, chainrule.train.health), LambdaCallback,
               Callback
    save_checkpoint / load_checkpoint: exact resume (weights, optimizer, scheduler, RNG,
               loader position, history, callbacks)
    plot_history(history, 'curves.png'): learning curves (matplotlib)
"""
from .history import History
from .metrics import Metric, Accuracy, FunctionMetric, resolve_metrics
from .evaluation import evaluate
from .loop import Trainer, fit
from .checkpointing import (save_checkpoint, load_checkpoint, read_checkpoint, Checkpoint,
                            CheckpointError)
from .callbacks import (Callback, LambdaCallback, EarlyStopping, ModelCheckpoint,
                        LRSchedulerCallback, GradientClipping, ProgressBar, CSVLogger,
                        JSONLLogger, TerminateOnNaN, read_jsonl, format_epoch, GradientHealth)
from .divergence import DIVERGENCE_FACTOR, TerminateOnDivergence, has_diverged
from .plots import plot_history, history_figure

__all__ = ["History", "Metric", "Accuracy", "FunctionMetric", "resolve_metrics", "evaluate",
           "Trainer", "fit", "save_checkpoint", "load_checkpoint", "read_checkpoint",
           "Checkpoint", "CheckpointError", "Callback", "LambdaCallback", "EarlyStopping",
           "ModelCheckpoint", "LRSchedulerCallback", "GradientClipping", "ProgressBar",
           "CSVLogger", "JSONLLogger", "TerminateOnNaN", "read_jsonl", "format_epoch",
           "plot_history", "history_figure", "DIVERGENCE_FACTOR", "TerminateOnDivergence",
           "has_diverged", "GradientHealth"]
