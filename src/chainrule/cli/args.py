"""The argument parser: ``chainrule train | evaluate | predict``.

Every ``train`` option lives in one table, :data:`TRAIN_OPTIONS` (flag, parser, default,
help), from which the parser, ``--help``'s defaults and the TOML configuration's keys all come.
The ``train`` parser records only the options given on the command line (its defaults are
suppressed), so :mod:`.config` can layer them: built-in defaults < the checkpoint's options
(``--resume``) < ``--config FILE.toml`` < flags.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable

from . import types as T
from .device import DEVICE_HELP, device_arg

__all__ = ["TRAIN_OPTIONS", "DEFAULTS", "DATASETS", "OPTIMIZERS", "SCHEDULES", "build_parser",
           "Option"]

DATASETS = ("digits", "mnist1d", "mnist_t10k", "mnist", "fashion_mnist", "fashion_mnist_t10k",
            "spirals", "moons", "xor", "blobs")
MODEL_NAMES = ("mlp", "logreg", "resmlp", "cnn")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus")
INITS = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
         "orthogonal", "normal", "zeros")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "adadelta", "nadam")
SCHEDULES = ("cosine", "none", "step", "exponential", "plateau")
# The learning rate each optimizer starts from when --lr is not given.
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "nadam": 2e-3, "rmsprop": 1e-3,
              "adagrad": 1e-2, "adadelta": 1.0}


@dataclass(frozen=True)
class Option:
    flag: str
    parse: Callable[[str], Any] | None  # None: a boolean switch (--x / --no-x)
    default: Any
    help: str
    metavar: str | None = None
    shown: str | None = None  # how --help shows the default, when not str(default)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


TRAIN_OPTIONS: tuple[Option, ...] = (
    Option("--dataset", T.choice(DATASETS, {"mnist_1d": "mnist1d"}), "digits",
           "dataset: " + ", ".join(DATASETS) + " (mnist_t10k: train on the first 8,000 "
           "MNIST test images, test on the last 2,000)", "NAME"),
    Option("--data-dir", str, None, "folder (or, for mnist1d, .npz file) holding the data; by "
           "default $CHAINRULE_DATA, ../shared/datasets, then chainrule's cache", "DIR",
           "search"),
    Option("--model", T.choice(MODEL_NAMES), "mlp", "model: " + ", ".join(MODEL_NAMES), "NAME"),
    Option("--hidden", T.int_list, None, "hidden layer widths, comma-separated ('none' for "
           "none); resmlp: one residual block per entry; cnn: fully connected layers after "
           "the convolutions", "N,N,...", "mlp 256,128; resmlp 128,128; cnn 128 (2-d), none "
           "(1-d)"),
    Option("--channels", T.int_list, None, "cnn only: output channels of each convolution",
           "N,N,...", "16,32 (2-d), 25,25,25 (1-d)"),
    Option("--activation", T.choice(ACTIVATIONS), "relu", "hidden activation: "
           + ", ".join(ACTIVATIONS), "NAME"),
    Option("--init", T.choice(INITS), "default", "weight initialisation: " + ", ".join(INITS)
           + "; 'default' is PyTorch's U(±1/√fan_in)", "NAME"),
    Option("--optimizer", T.choice(OPTIMIZERS), "adam", "optimizer: " + ", ".join(OPTIMIZERS),
           "NAME"),
    Option("--lr", T.positive_float, None, "learning rate", "LR",
           ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())),
    Option("--momentum", T.nonneg_float, 0.0, "momentum (sgd, rmsprop)", "M"),
    Option("--nesterov", None, False, "Nesterov momentum (sgd)"),
    Option("--weight-decay", T.nonneg_float, 0.0, "weight decay λ (decoupled for adamw, "
           "added to the gradient otherwise)", "λ"),
    Option("--l1", T.nonneg_float, 0.0, "L1 penalty λ·Σ|w| added to the training loss (biases "
           "and normalisation parameters excluded)", "λ"),
    Option("--l2", T.nonneg_float, 0.0, "L2 penalty λ·Σw² added to the training loss (biases "
           "and normalisation parameters excluded)", "λ"),
    Option("--dropout", T.probability, 0.2, "dropout probability after each hidden layer", "P"),
    Option("--batch-norm", None, False, "batch normalisation after each hidden layer"),
    Option("--batch-size", T.positive_int, 32, "minibatch size", "B"),
    Option("--workers", T.nonneg_int, 0, "loader worker processes preparing the next training "
           "batches while a step runs (0: in the training process); results do not depend "
           "on it", "N"),
    Option("--epochs", T.nonneg_int, 40, "epochs to train (in total, when resuming: a finished run "
           "trains on only when this is larger than its epochs)", "N"),
    Option("--early-stopping", T.optional(T.nonneg_int), None, "stop after PATIENCE epochs "
           "without a lower validation loss and restore the best weights", "PATIENCE", "off"),
    Option("--clip-grad-norm", T.optional(T.positive_float), None, "clip the gradients' total "
           "norm to this value", "MAX", "off"),
    Option("--lr-schedule", T.choice(SCHEDULES), "cosine", "learning-rate schedule: cosine "
           "(to 0 over the run, per step), step (×0.1 every epochs/3), exponential (to 1 % of "
           "the start), plateau (×0.1 after 5 epochs without a lower validation loss), none",
           "NAME"),
    Option("--val-split", T.val_split, 0.1, "validation set held out of the training set: a "
           "fraction in (0, 1) (e.g. 0.1), or a number of items written as an integer (e.g. "
           "500); 0: none. A float of 1 or more (1.0) is refused, not read as a count", "F"),
    Option("--seed", T.seed, 0, "random seed (initialisation, shuffling, dropout)", "S"),
    Option("--dtype", T.choice(("float32", "float64")), "float32", "floating-point type of the "
           "weights, the inputs and the computation", "NAME"),
    Option("--out", str, None, "output folder for the checkpoint, metrics and curves", "DIR",
           "runs/DATASET-MODEL"),
    Option("--tensorboard", T.optional(str), None, "also write TensorBoard event files (each "
           "epoch's losses, accuracies, error rates and lr) into this folder; kept by a "
           "resumed run ('off' stops it)", "DIR", "off"),
    Option("--resume", str, None, "continue the run saved in this checkpoint (its options are "
           "the defaults; flags and --config override them)", "CKPT", "off"),
    Option("--config", str, None, "read options from a TOML file (keys are the long option "
           "names, e.g. lr = 0.01, hidden = [256, 128]); flags override it", "FILE.toml",
           "off"),
    Option("--health", None, True, "gradient-health monitor: measure one batch in 30 per "
           "layer, warn (stderr) when gradients vanish or explode, units saturate or die, the "
           "learning rate looks too high or too low, or the run overfits; writes health.json "
           "and health.png"),
    Option("--device", device_arg, "cpu", DEVICE_HELP, "DEVICE"),
    Option("--quiet", None, False, "print nothing but errors"),
)

DEFAULTS: dict[str, Any] = {o.dest: o.default for o in TRAIN_OPTIONS}
OPTIONS_BY_DEST: dict[str, Option] = {o.dest: o for o in TRAIN_OPTIONS}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) and no prefix matching of options."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _help(opt: Option) -> str:
    shown = opt.shown if opt.shown is not None else opt.default
    if isinstance(shown, bool):
        shown = "on" if shown else "off"
    return f"{opt.help} (default: {shown})".replace("%", "%%")  # argparse %-formats help


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model and write its checkpoint, metrics and "
                       "learning curves", description="Train a model on a dataset; write "
                       "model.safetensors, metrics.json, metrics.csv / metrics.jsonl and "
                       "curves.png / curves.svg into --out.",
                       argument_default=argparse.SUPPRESS)
    for opt in TRAIN_OPTIONS:
        if opt.parse is None:
            p.add_argument(opt.flag, action=argparse.BooleanOptionalAction, help=_help(opt))
        else:
            p.add_argument(opt.flag, type=opt.parse, metavar=opt.metavar, help=_help(opt))
    p.set_defaults(command="train")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="rebuild a model from its checkpoint and print its "
                       "loss and accuracy", description="Rebuild the model saved in CKPT and "
                       "print its loss, accuracy and error rate on a dataset split.")
    p.add_argument("checkpoint", metavar="CKPT", help="a model.safetensors written by "
                   "'chainrule train'")
    p.add_argument("--dataset", type=T.choice(DATASETS, {"mnist_1d": "mnist1d"}),
                   metavar="NAME", default=None,
                   help="dataset (default: the one the model was trained on)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="where the data are (default: as for train)")
    p.add_argument("--split", type=T.choice(("test", "val", "train")), default="test",
                   metavar="SPLIT", help="test, val or train (default: test)")
    p.add_argument("--device", type=device_arg, default="cpu", metavar="DEVICE",
                   help=DEVICE_HELP)
    p.add_argument("--batch-size", type=T.positive_int, default=1000, metavar="B",
                   help="evaluation batch size (default: 1000)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON "
                   "(default: off)")
    p.set_defaults(command="evaluate")


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="predict the classes of inputs in a .npy file",
                       description="Rebuild the model saved in CKPT and predict the class of "
                       "each input in FILE.npy (one item of the model's input shape, or a batch "
                       "of them; uint8 images are scaled to [0, 1] as in training).")
    p.add_argument("checkpoint", metavar="CKPT", help="a model.safetensors written by "
                   "'chainrule train'")
    p.add_argument("inputs", metavar="FILE.npy", help="inputs as a NumPy .npy array")
    p.add_argument("--output", default=None, metavar="PATH", help="also write the predictions "
                   "(.npy: an array; otherwise text, one line per input) (default: off)")
    p.add_argument("--probabilities", action="store_true", help="print/write the class "
                   "probabilities instead of the predicted class (default: off)")
    p.add_argument("--device", type=device_arg, default="cpu", metavar="DEVICE",
                   help=DEVICE_HELP)
    p.add_argument("--batch-size", type=T.positive_int, default=1000, metavar="B",
                   help="batch size (default: 1000)")
    p.add_argument("--quiet", action="store_true", help="do not print the predictions "
                   "(default: off)")
    p.set_defaults(command="predict")


def build_parser() -> Parser:
    parser = Parser(prog="chainrule", description="Train, evaluate and use chainrule's built-in "
                    "models. 'chainrule COMMAND --help' lists a command's options.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=Parser)
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    from .commands import command_modules
    for module in command_modules():
        module.add_parser(sub)
    return parser


def _version() -> str:
    from .. import __version__
    return f"chainrule {__version__} (Python {sys.version.split()[0]})"
