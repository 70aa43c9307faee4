"""Training checkpoints on top of ``chainrule.save`` / ``chainrule.load`` (safetensors, no
pickle): everything a run needs to continue exactly where it stopped.

One file holds the model's ``state_dict`` (tensors, under ``model/<name>``), the optimizer's and
scheduler's state, the epoch and optimizer-step counters, the History, chainrule's RNG state (so
dropout masks continue the same), each DataLoader's state (so the shuffled order continues the
same, also mid-epoch), an optional model configuration (to rebuild the model from the file
alone) and free-form ``extra`` state (the trainer keeps its callbacks' state there). Writes are
atomic; a damaged file raises :class:`~chainrule.io.CheckpointError` naming it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .. import backend
from ..io import CheckpointError
from ..io import load as _load
from ..io import save as _save
from ..tensor import Tensor
from .history import History

__all__ = ["save_checkpoint", "load_checkpoint", "Checkpoint", "CheckpointError"]

KIND = "chainrule.train.checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read (the parts it restored are also here)."""

    path: Path
    model_state: dict
    epoch: int = 0
    global_step: int = 0
    history: History = field(default_factory=History)
    config: dict | None = None
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    loaders: dict = field(default_factory=dict)
    rng: dict | None = None
    extra: dict = field(default_factory=dict)


def _named_loaders(loaders: Any) -> dict:
    if loaders is None:
        return {}
    if isinstance(loaders, Mapping):
        return dict(loaders)
    return {"train": loaders}


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None,
                    scheduler: Any = None, *, epoch: int = 0, history: Any = None,
                    loaders: Any = None, config: dict | None = None, global_step: int = 0,
                    rng: bool = True, extra: dict | None = None) -> Path:
    """Write a training checkpoint to ``path`` (atomically) and return the path.

    ``loaders`` is a DataLoader (saved as ``'train'``) or a dict of them; loaders without a
    ``state_dict`` are skipped. ``config`` must be JSON-able (numbers, strings, lists, dicts).
    """
    state: dict[str, Any] = {
        "kind": KIND, "version": VERSION,
        "model": dict(model.state_dict()),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": int(epoch), "global_step": int(global_step),
        "history": History.from_dict(history if history is not None else []).to_dict(),
        "rng": backend.get_rng_state() if rng else None,
        "loaders": {name: ld.state_dict() for name, ld in _named_loaders(loaders).items()
                    if callable(getattr(ld, "state_dict", None))},
        "config": config,
        "extra": extra or {},
    }
    try:
        _save(state, path)
    except TypeError as exc:
        raise TypeError(f"save_checkpoint: {path}: {exc}") from None
    return Path(path)


def _is_plain_weights(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, Tensor)
                                                       for v in obj.values())


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check a checkpoint without restoring anything. A plain safetensors file of
    tensors (a bare ``state_dict``) reads as weights only."""
    path = Path(path)
    raw = _load(path)
    if _is_plain_weights(raw) and "kind" not in raw:
        return Checkpoint(path=path, model_state=raw)
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise CheckpointError(f"load_checkpoint: {path} is a chainrule file but not a training "
                              "checkpoint (no model state)")
    if raw.get("version", 0) > VERSION:
        raise CheckpointError(f"load_checkpoint: {path} was written by a newer chainrule "
                              f"(format {raw.get('version')}, this one reads {VERSION})")
    try:
        return Checkpoint(path=path, model_state=raw["model"], epoch=int(raw["epoch"]),
                          global_step=int(raw.get("global_step", 0)),
                          history=History.from_dict(raw.get("history") or []),
                          config=raw.get("config"), optimizer_state=raw.get("optimizer"),
                          scheduler_state=raw.get("scheduler"), loaders=raw.get("loaders") or {},
                          rng=raw.get("rng"), extra=raw.get("extra") or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"load_checkpoint: {path} has a damaged training state "
                              f"({type(exc).__name__}: {exc})") from None


def _restore(path: Path, what: str, fn, state) -> None:
    try:
        fn(state)
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"load_checkpoint: the {what} state in {path} does not fit: "
                              f"{exc}") from None


def load_checkpoint(path: str | os.PathLike, model: Any = None, optimizer: Any = None,
                    scheduler: Any = None, *, loaders: Any = None,
                    restore_rng: bool = True) -> Checkpoint:
    """Read ``path`` and restore what is given: the model's weights, the optimizer's and
    scheduler's state, each loader's position (by name; a single loader is ``'train'``) and
    — with ``restore_rng`` — chainrule's RNG state. Returns the :class:`Checkpoint` (epoch,
    history, config ...). Nothing is restored unless the whole file reads cleanly."""
    ckpt = read_checkpoint(path)
    p = ckpt.path
    if model is not None:
        _restore(p, "model", model.load_state_dict, ckpt.model_state)
    if optimizer is not None:
        if ckpt.optimizer_state is None:
            raise CheckpointError(f"load_checkpoint: {p} has no optimizer state")
        _restore(p, "optimizer", optimizer.load_state_dict, ckpt.optimizer_state)
    if scheduler is not None:
        if ckpt.scheduler_state is None:
            raise CheckpointError(f"load_checkpoint: {p} has no scheduler state")
        _restore(p, "scheduler", scheduler.load_state_dict, ckpt.scheduler_state)
    for name, loader in _named_loaders(loaders).items():
        if name in ckpt.loaders and callable(getattr(loader, "load_state_dict", None)):
            _restore(p, f"{name} loader", loader.load_state_dict, ckpt.loaders[name])
    if restore_rng and ckpt.rng is not None:
        _restore(p, "RNG", backend.set_rng_state, ckpt.rng)
    return ckpt
