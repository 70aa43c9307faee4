"""Models by name, built from a JSON-able configuration so a checkpoint can rebuild its model.

A configuration is a flat dict: the model's ``name``, the ``input_shape`` of one item, the
``num_classes`` and the builder's keyword arguments, e.g.
``{"name": "mlp", "input_shape": [8, 8], "num_classes": 10, "hidden": [256, 128], ...}``.
:func:`model_config` fills in every default, so the stored configuration says exactly what was
built even if a default changes later; :func:`build_model` turns it back into a model.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from .. import nn
from .builders import cnn, logreg, mlp, resmlp
from .size import check_size

__all__ = ["MODELS", "register_model", "model_config", "build_model", "model_options"]

MODELS: dict[str, Callable[..., nn.Module]] = {"logreg": logreg, "mlp": mlp, "resmlp": resmlp,
                                               "cnn": cnn}
_FIXED = ("input_shape", "num_classes")


def register_model(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make ``builder(input_shape, num_classes, **kwargs)`` available as ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_model: name must be a non-empty string, got {name!r}")
    if not callable(builder):
        raise TypeError(f"register_model: builder must be callable, got "
                        f"{type(builder).__name__}")
    MODELS[name] = builder


def _builder(name: Any, who: str) -> Callable[..., nn.Module]:
    if name not in MODELS:
        raise ValueError(f"{who}: unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def model_options(name: str) -> dict[str, Any]:
    """The keyword options of model ``name`` and their defaults."""
    sig = inspect.signature(_builder(name, "model_options"))
    return {k: p.default for k, p in sig.parameters.items()
            if k not in _FIXED and p.kind is inspect.Parameter.KEYWORD_ONLY}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def model_config(name: str, input_shape, num_classes: int, **kwargs) -> dict[str, Any]:
    """The full configuration of model ``name`` (every option, defaults filled in)."""
    options = model_options(name)
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise ValueError(f"model {name!r} has no option {', '.join(map(repr, unknown))}; its "
                         f"options are {', '.join(options)}")
    options.update(kwargs)
    shape = [input_shape] if isinstance(input_shape, int) else list(input_shape)
    return {"name": name, "input_shape": shape, "num_classes": num_classes,
            **{k: _jsonable(v) for k, v in options.items()}}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build the model a configuration describes (see :func:`model_config`); the model keeps
    the full configuration as ``model.config``. A training checkpoint's config of the form
    ``{"model": {...}, ...}`` is accepted too. A configuration whose parameters would not fit
    in this machine's memory raises :class:`~chainrule.models.size.ModelTooLarge` (a
    ValueError) before anything is allocated."""
    if not isinstance(config, dict):
        raise TypeError(f"build_model: expected a configuration dict, got "
                        f"{type(config).__name__}")
    if "name" not in config and isinstance(config.get("model"), dict):
        config = config["model"]
    missing = [k for k in ("name",) + _FIXED if k not in config]
    if missing:
        raise ValueError(f"build_model: the configuration lacks {', '.join(missing)} "
                         f"(it has {', '.join(map(str, config)) or 'nothing'})")
    rest = {k: v for k, v in config.items() if k not in ("name",) + _FIXED}
    full = model_config(config["name"], config["input_shape"], config["num_classes"], **rest)
    builder = _builder(full["name"], "build_model")
    check_size(full)  # before allocating: a small file can describe terabytes of weights
    kwargs = {k: v for k, v in full.items() if k not in ("name",) + _FIXED}
    model = builder(full["input_shape"], full["num_classes"], **kwargs)
    model.config = full
    return model
