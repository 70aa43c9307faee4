"""``chainrule explain``: backprop shown at work.

    chainrule explain "x**2*y + y + 2" --at x=3,y=4 [--out graph.svg]
    chainrule explain --at x=2 -- "-x**2"        (an expression starting with a minus)
    chainrule explain --example circuit|neuron|multipath|xor-net [--out graph.svg]
    chainrule explain CKPT [--dataset digits] [--out layers.png]

The first form traces an expression (parsed safely: numbers, the ``--at`` variables,
``+ - * / **``, unary minus and exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs — never
``eval``; constants are float64, see :mod:`chainrule.explain.expr`) and prints its value, both
passes and ∂f/∂ each variable (whether the argument is a checkpoint or an expression is
decided by :func:`_is_checkpoint`). The second shows one of the lecture notes' worked examples.
The third rebuilds a trained model as ``chainrule evaluate`` does and prints the layer view of
one batch.
"""
from __future__ import annotations

from pathlib import Path

from .errors import CLIError, phase

__all__ = ["add_parser", "run"]

EXAMPLE_NAMES = ("circuit", "neuron", "multipath", "xor-net")


def add_parser(sub) -> None:
    """The ``explain`` subcommand's options."""
    from . import types as T
    from .args import DATASETS
    p = sub.add_parser(
        "explain", help="show backprop at work: trace an expression, a worked example, or a "
        "trained model's layers",
        description="Trace EXPR at the --at values (the forward pass, the backward pass, and "
        "∂f/∂ each variable), show one of the notes' --example graphs, or, given a checkpoint "
        "CKPT, print the layer view of one batch (activations, δ's, gradient norms). An "
        "expression that starts with a minus looks like an option to the parser: put it after "
        "'--' (chainrule explain --at x=2 -- \"-x**2\"), or bracket it (\"(-x**2)\").")
    p.add_argument("target", nargs="?", default=None, metavar="EXPR|CKPT",
                   help="an expression such as \"x**2*y + y + 2\" (one starting with '-' goes "
                   "after '--': --at x=2 -- \"-x**2\"), or a model.safetensors written by "
                   "'chainrule train'")
    p.add_argument("--at", default=None, metavar="NAME=V,...",
                   help="the variables' values, e.g. x=3,y=4")
    p.add_argument("--example", type=T.choice(EXAMPLE_NAMES),
                   default=None, metavar="NAME",
                   help="one of the notes' examples: " + ", ".join(EXAMPLE_NAMES))
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also draw it: a trace as .svg or .png, the layer view as .png or .svg "
                   "(default: off)")
    p.add_argument("--engine", type=T.choice(("auto", "graphviz", "matplotlib")),
                   default="auto", metavar="NAME", help="how to draw a trace: graphviz, "
                   "matplotlib, or auto (Graphviz where its dot program exists) "
                   "(default: auto)")
    p.add_argument("--dataset", type=T.choice(DATASETS, {"mnist_1d": "mnist1d"}),
                   metavar="NAME", default=None,
                   help="CKPT only: the data of the batch (default: the model's own)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="CKPT only: where the data are (default: as for train)")
    p.add_argument("--batch-size", type=T.positive_int, default=64, metavar="B",
                   help="CKPT only: items in the batch (default: 64)")
    p.set_defaults(command="explain")


def _is_checkpoint(args) -> bool:
    """Whether the target is a checkpoint rather than an expression.

    In this order: anything given with --dataset, or a name ending in ``.safetensors``, is a
    checkpoint; given ``--at``, a target that parses as an expression is one, even where a file
    of that name exists (``explain x --at x=3`` next to a file ``x``); an existing file that
    starts with a safetensors header is a checkpoint; without ``--at``, any other existing file
    or folder is taken as a checkpoint too (so that its own error is reported: a folder, not a
    safetensors file); everything else is an expression. A name the system cannot even look up
    (too long, a NUL) is no file."""
    from ..explain import expr
    target = args.target
    if args.dataset is not None or target.lower().endswith(".safetensors"):
        return True
    try:
        expr.parse(target)
        parses = True
    except expr.ExpressionError:
        parses = False
    if parses and args.at is not None:
        return False
    if _has_safetensors_header(target):
        return True
    return args.at is None and _exists(target)


def _exists(target: str) -> bool:
    try:
        return Path(target).exists()
    except (OSError, ValueError):           # a name too long for the system, or with a NUL
        return False


def _has_safetensors_header(target: str) -> bool:
    """True when ``target`` is a file whose first bytes are a safetensors header: an 8-byte
    little-endian length n (at most the rest of the file), then a JSON object ``{``."""
    try:
        path = Path(target)
        if not path.is_file():
            return False
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(9)
    except (OSError, ValueError):
        return False
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def run(args) -> int:
    """Run ``chainrule explain``; returns the exit status."""
    if args.example is not None:
        if args.target is not None or args.at is not None:
            raise CLIError("--example takes no expression, checkpoint or --at")
        return _example(args)
    if args.target is None:
        raise CLIError("give an expression and --at (e.g. \"x**2*y + y + 2\" --at x=3,y=4), "
                       "--example NAME, or a checkpoint")
    if _is_checkpoint(args):
        if args.at is not None:
            raise CLIError(f"--at is for expressions; {_short(args.target)} is a checkpoint")
        return _checkpoint(args)
    return _expression(args)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _save(trace, args) -> None:
    if args.out is None:
        return
    try:
        trace.save(args.out, engine=args.engine)
    except ValueError as exc:
        raise CLIError(f"--out: {exc}") from None
    print(f"\nwrote {args.out}")


def _expression(args) -> int:
    import numpy as np

    import chainrule as cr
    from ..explain import expr
    try:
        values = expr.parse_assignments(args.at or "")
        tree = expr.parse(args.target, values)
    except expr.ExpressionError as exc:
        raise CLIError(str(exc)) from None
    used = expr.variables_of(tree)
    if not used:
        raise CLIError(f"{args.target!r} uses no variable: nothing to differentiate (give "
                       "one, e.g. \"x**2\" --at x=3)")
    unused = [n for n in values if n not in used]
    if unused:
        raise CLIError(f"--at gives {', '.join(unused)}, which {args.target!r} does not use")
    order = [n for n in values if n in used]
    tensors = {n: cr.tensor(values[n], requires_grad=True) for n in order}
    with np.errstate(all="ignore"), cr.autograd.record():
        try:
            f = expr.evaluate(tree, tensors, args.target)
        except expr.ExpressionError as exc:
            raise CLIError(str(exc)) from None
        if not isinstance(f, cr.Tensor) or not f.requires_grad:
            raise CLIError(f"{args.target!r} does not depend on its variables")
        t = cr.explain.trace(f, names=tensors)
    at = ", ".join(f"{n} = {cr.explain.summarize(tensors[n])}" for n in order)
    print(f"f({', '.join(order)}) = {args.target}   at {at}\n")
    print(t)
    print()
    print(f"f = {cr.explain.summarize(t.output.value)}")
    for n in order:
        print(f"∂f/∂{n} = {cr.explain.summarize(t[n].delta)}")
    _save(t, args)
    return 0


def _example(args) -> int:
    from ..explain.examples import build
    from ..explain.summary import summarize
    example = build(args.example)
    t = example.trace
    print(f"{example.title}\n")
    print(t)
    print()
    out = t.output.name
    print(f"{out} = {summarize(t.output.value)}")
    for n in example.answers:
        print(f"∂{out}/∂{n} = {summarize(t[n].delta)}")
    _save(t, args)
    return 0


def _checkpoint(args) -> int:
    import chainrule as cr
    from .. import nn
    from .checkpoints import dataset_of, load_data_for, load_model
    model, run = load_model(args.target)
    run = run or {}
    name = dataset_of(args.target, run, args.dataset)
    data = load_data_for(args.target, model, run, name, bool(args.dataset), args.data_dir)
    split = data.test
    n = min(args.batch_size, len(split))
    if n == 0:
        raise CLIError(f"{name} has no test items to explain")
    items = [split[i] for i in range(n)]
    x = cr.stack([item[0] for item in items])
    y = cr.tensor([int(item[1]) for item in items])
    with phase(f"running one batch of {n} items", "--batch-size"):
        view = cr.explain.layers(model, x, y, nn.CrossEntropyLoss())
    print(f"{args.target} on {name} (first {n} test items)\n")
    print(view)
    if args.out is not None:
        try:
            view.save(args.out)
        except ValueError as exc:
            raise CLIError(f"--out: {exc}") from None
        print(f"\nwrote {args.out}")
    return 0
