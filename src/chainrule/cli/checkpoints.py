"""Reading the checkpoints ``chainrule train`` writes: the model's configuration, the run's
options, and the model rebuilt with its weights."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CLIError, phase

__all__ = ["read_run", "load_model", "dataset_of", "load_data_for"]


def read_run(path: str | Path) -> tuple[dict, dict | None, Any]:
    """``(model_config, run_options, checkpoint)`` of a checkpoint; one-line errors."""
    from ..train import CheckpointError, read_checkpoint
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"{str(p)!r} is a folder; give the checkpoint file (e.g. "
                       f"{p / 'model.safetensors'})")
    try:
        ckpt = read_checkpoint(p)
    except CheckpointError as exc:
        raise CLIError(str(exc)) from None
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    config = ckpt.config
    if isinstance(config, dict) and isinstance(config.get("model"), dict):
        return config["model"], config.get("run"), ckpt
    if isinstance(config, dict) and "name" in config:
        return config, None, ckpt
    raise CLIError(f"{p} holds no model configuration (it was not written by 'chainrule "
                   "train'), so the model cannot be rebuilt from it")


def load_model(path: str | Path):
    """The model saved in ``path``, rebuilt from its configuration, weights loaded, in eval
    mode; returns ``(model, run_options)``."""
    from ..models import build_model
    model_cfg, run, ckpt = read_run(path)
    try:
        with phase(f"building the model {path} describes", "its stored configuration"):
            model = build_model(model_cfg)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{path}: cannot rebuild the model from its configuration ({exc})") \
            from None
    try:
        model.load_state_dict(ckpt.model_state)
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CLIError(f"{path}: the weights do not fit the model its configuration "
                       f"describes ({exc})") from None
    model.eval()
    return model, run


def dataset_of(path: str | Path, run: dict, dataset: str | None) -> str:
    """The dataset a checkpoint's model is used on: ``--dataset`` when given, else the one the
    run stored."""
    name = dataset or run.get("dataset")
    if name is None:
        raise CLIError(f"{path} does not say which dataset it was trained on; give --dataset")
    return name


def load_data_for(path: str | Path, model, run: dict, name: str, dataset_given: bool,
                  data_dir: str | None, val_split=0):
    """Load dataset ``name`` for a checkpoint's ``model``: ``data_dir`` when given, else the
    run's own folder when it is the run's dataset; its items must have the model's input
    shape."""
    from .data import load_data
    folder = data_dir if data_dir is not None else \
        (run.get("data_dir") if name == run.get("dataset") else None)
    data = load_data(name, folder, val_split, verbose=False,
                     who="--dataset" if dataset_given else f"{path}: stored dataset",
                     warn=data_dir is not None)
    expected = list(model.config["input_shape"])
    if data.input_shape != expected:
        raise CLIError(f"the model takes inputs of shape {expected} but {name} has items of "
                       f"shape {data.input_shape}")
    return data
