"""``chainrule playground``: run optimizers from one start on a 2-D surface, print the table of
steps to the goal and final points and the notes' claims measured on the run, and draw the
contours with each path and the loss against gradient evaluations (``--out``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import types as T
from .errors import CLIError

__all__ = ["add_parser", "run"]

_Bad = argparse.ArgumentTypeError
_FIGURE_SUFFIXES = (".png", ".svg")


def _names():
    from ..explain.optimizer_playground import OPTIMIZERS, SURFACES
    return tuple(SURFACES), tuple(OPTIMIZERS)


def _optimizer_list(text: str) -> list[str]:
    known = _names()[1]
    if text.strip().lower() == "all":
        return list(known)
    names = [n.strip().lower().replace("_", "-") for n in text.split(",") if n.strip()]
    if not names:
        raise _Bad(f"expected a comma-separated list of optimizers, got {text!r}")
    for n in names:
        if n not in known:
            raise _Bad(f"unknown optimizer {n!r} (choose from {', '.join(known)}, or all)")
    return list(dict.fromkeys(names))


def _lr_spec(text: str) -> float | dict[str, float]:
    """``0.01`` (every optimizer) or ``sgd=0.1,adam=0.05`` (those; the rest keep defaults)."""
    if "=" not in text:
        return T.positive_float(text)
    rates: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower().replace("_", "-")
        if not sep or not name:
            raise _Bad(f"expected LR or NAME=LR,NAME=LR, got {text!r}")
        if name not in _names()[1]:
            raise _Bad(f"unknown optimizer {name!r} in {text!r}")
        rates[name] = T.positive_float(value.strip())
    return rates


def _point(text: str) -> tuple[float, float]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 2:
        raise _Bad(f"expected two numbers X,Y, got {text!r}")
    return tuple(T._float(p) for p in parts)  # type: ignore[return-value]


def add_parser(sub) -> None:
    surfaces, optimizers = _names()
    p = sub.add_parser(
        "playground", help="race chainrule's optimizers on a 2-D surface and draw their paths",
        description="Run chainrule.optim's optimizers from one start on a 2-D surface; print "
        "the steps each took to the surface's goal, where it ended and the lecture notes' "
        "claims measured on the run; draw the contours with every path and the loss against "
        "gradient evaluations (--out).")
    p.add_argument("--surface", type=T.choice(surfaces), default="valley", metavar="NAME",
                   help="surface: " + ", ".join(surfaces) + " (default: valley)")
    p.add_argument("--optimizers", type=_optimizer_list, metavar="LIST",
                   default=["sgd", "momentum", "nesterov", "rmsprop", "adam", "lbfgs",
                            "newton-cg"],
                   help="comma-separated: " + ", ".join(optimizers) + ", or all (default: "
                   "sgd,momentum,nesterov,rmsprop,adam,lbfgs,newton-cg)")
    p.add_argument("--steps", type=T.positive_int, default=300, metavar="N",
                   help="steps per optimizer (default: 300)")
    p.add_argument("--lr", type=_lr_spec, default=None, metavar="LR",
                   help="one learning rate for all, or NAME=LR,NAME=LR for some (default: "
                   "per surface and optimizer, chosen so the notes' claims show)")
    p.add_argument("--start", type=_point, default=None, metavar="X,Y",
                   help="starting point (default: the surface's)")
    p.add_argument("--out", default=None, metavar="FIG.png",
                   help="write the figure here (.png or .svg) (default: no figure)")
    p.set_defaults(command="playground")


def run(args: argparse.Namespace) -> int:
    from ..explain.optimizer_playground import playground
    if args.out is not None and Path(args.out).suffix.lower() not in _FIGURE_SUFFIXES:
        raise CLIError(f"--out {args.out!r}: the figure must be a .png or .svg file")
    rates = args.lr
    if isinstance(rates, dict):
        extra = [n for n in rates if n not in args.optimizers]
        if extra:
            raise CLIError(f"--lr names {extra[0]!r}, which is not in --optimizers "
                           f"({','.join(args.optimizers)})")
    result = playground(args.surface, optimizers=args.optimizers, steps=args.steps, lr=rates,
                        start=args.start)
    print(result.table())
    claims = result.claims()
    if claims:
        print("\nthe notes' claims, measured on this run:")
        for claim in claims:
            print(f"  - {claim.line()}")
    if args.out is not None:
        path = result.plot(args.out)
        print(f"\nwrote {path}")
    return 0
