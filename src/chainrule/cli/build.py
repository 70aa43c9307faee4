"""From resolved options to the parts of a run: model, loss, optimizer, schedule, callbacks."""
from __future__ import annotations

from typing import Any

from .. import nn, optim
from ..models import ModelTooLarge, build_model, model_config
from ..optim import lr_scheduler
from ..regularization import l1_penalty, l2_penalty
from ..train import EarlyStopping, GradientClipping, LRSchedulerCallback, TerminateOnDivergence
from .args import DEFAULT_LR
from .errors import CLIError

__all__ = ["model_from_options", "model_kwargs", "make_optimizer", "make_schedule", "make_loss",
           "check_options"]

_OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
               "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad, "adadelta": optim.Adadelta,
               "nadam": optim.NAdam}


# Options that shape hidden layers: given explicitly for logreg (no hidden layer) they would do
# nothing, so they are refused like --hidden, rather than silently ignored.
_HIDDEN_ONLY = ("dropout", "activation")
# A configuration key of the model and the option that sets it.
_OPTION_OF = {"hidden": "--hidden", "channels": "--channels", "input_shape": "--dataset",
              "num_classes": "--dataset"}


def check_options(o: dict[str, Any], sources: dict[str, str] | None = None) -> None:
    """Combinations of options that cannot work, or would silently do nothing, each named in
    one line. ``sources`` (see :func:`.config.resolve_options`) tells which options were
    given explicitly; a default that does not apply is no mistake."""
    sources = sources or {}
    if o["momentum"] and o["optimizer"] not in ("sgd", "rmsprop"):
        raise CLIError(f"--momentum applies to sgd and rmsprop, not {o['optimizer']} (Adam-type "
                       "optimizers have their own betas)")
    if o["nesterov"] and (o["optimizer"] != "sgd" or not o["momentum"]):
        raise CLIError("--nesterov needs --optimizer sgd and a --momentum above 0")
    if o["early_stopping"] is not None and not o["val_split"]:
        raise CLIError("--early-stopping needs a validation set: give --val-split above 0")
    if o["channels"] is not None and o["model"] != "cnn":
        raise CLIError(f"--channels applies to the cnn model, not {o['model']}")
    if o["model"] == "logreg":
        if o["hidden"]:
            raise CLIError("--hidden does not apply to logreg (it has no hidden layer; use "
                           "--model mlp)")
        if o["batch_norm"]:
            raise CLIError("--batch-norm does not apply to logreg (it has no hidden layer)")
        for key in _HIDDEN_ONLY:
            if key in sources:
                raise CLIError(f"{sources[key]}: {key} {o[key]} does not apply to logreg (it "
                               "has no hidden layer; use --model mlp)")


def model_kwargs(o: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`~chainrule.models.model_config` the options give."""
    kwargs: dict[str, Any] = {"init": o["init"]}
    if o["model"] != "logreg":
        kwargs.update(activation=o["activation"], dropout=o["dropout"],
                      batch_norm=o["batch_norm"])
        if o["hidden"] is not None:
            kwargs["hidden"] = o["hidden"]
    if o["model"] == "cnn" and o["channels"] is not None:
        kwargs["channels"] = o["channels"]
    return kwargs


def model_from_options(o: dict[str, Any], input_shape: list[int], num_classes: int,
                       sources: dict[str, str] | None = None, resume: str | None = None):
    """The model the options describe, with its full configuration in ``model.config``; one
    too large for this machine's memory is refused before it is allocated, naming the option
    (and where it came from: a flag, the ``--config`` file or the ``--resume`` checkpoint)."""
    try:
        return build_model(model_config(o["model"], input_shape, num_classes,
                                        **model_kwargs(o)))
    except ModelTooLarge as exc:
        flag = _OPTION_OF.get(exc.option, exc.option)
        key = flag.lstrip("-").replace("-", "_")
        given = (sources or {}).get(key)
        where = "" if given == flag else f" (from {given})" if given else \
            f" (stored in {resume})" if resume else " (its default)"
        raise CLIError(f"{flag}{where}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None


def make_optimizer(o: dict[str, Any], model) -> Any:
    name = o["optimizer"]
    lr = o["lr"] if o["lr"] is not None else DEFAULT_LR[name]
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": o["weight_decay"]}
    if name == "sgd":
        kwargs.update(momentum=o["momentum"], nesterov=o["nesterov"])
    elif name == "rmsprop":
        kwargs["momentum"] = o["momentum"]
    try:
        return _OPTIMIZERS[name](model.parameters(), **kwargs)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--optimizer {name}: {exc}") from None


def make_schedule(o: dict[str, Any], optimizer, steps_per_epoch: int,
                  has_val: bool) -> LRSchedulerCallback | None:
    """The ``--lr-schedule`` as a callback (its state goes into checkpoints)."""
    name, epochs = o["lr_schedule"], max(1, o["epochs"])
    if name == "none":
        return None
    if name == "cosine":
        sched = lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
        return LRSchedulerCallback(sched, interval="step")
    if name == "step":
        sched = lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    elif name == "exponential":
        sched = lr_scheduler.ExponentialLR(optimizer, gamma=0.01 ** (1 / epochs))
    else:
        sched = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=5)
        return LRSchedulerCallback(sched, monitor="val_loss" if has_val else "train_loss")
    return LRSchedulerCallback(sched, interval="epoch")


def make_loss(o: dict[str, Any], model):
    """Cross-entropy; in training mode plus the L1/L2 penalties, so the validation and test
    losses (measured in eval mode) stay comparable across penalties."""
    ce = nn.CrossEntropyLoss()
    l1, l2 = o["l1"], o["l2"]
    if not (l1 or l2):
        return ce

    def loss(output, target):
        value = ce(output, target)
        if model.training:
            if l1:
                value = value + l1_penalty(model, l1, exclude_bias_and_norm=True)
            if l2:
                value = value + l2_penalty(model, l2, exclude_bias_and_norm=True)
        return value

    return loss


def make_callbacks(o: dict[str, Any], has_val: bool) -> list:
    """Stop on a diverged loss (non-finite, or DIVERGENCE_FACTOR times the first batches');
    early stopping and gradient clipping when asked."""
    cbs: list = [TerminateOnDivergence()]
    if o["early_stopping"] is not None:
        cbs.append(EarlyStopping("val_loss", patience=o["early_stopping"],
                                 restore_best_weights=True))
    if o["clip_grad_norm"] is not None:
        cbs.append(GradientClipping(max_norm=o["clip_grad_norm"]))
    return cbs
