"""``chainrule export CKPT --onnx model.onnx``: the model of a checkpoint as an ONNX file.

The model is rebuilt from the checkpoint (as ``chainrule evaluate`` does) and traced once by
:func:`chainrule.onnx.export` on a seeded random batch of two items of its input shape; axis 0
stays free, so the file runs on any batch size.
"""
from __future__ import annotations

from pathlib import Path

from .checkpoints import load_model
from .errors import CLIError, phase
from . import types as T

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """The ``export`` subcommand's options."""
    p = sub.add_parser("export", help="write a checkpoint's model as an ONNX file",
                       description="Rebuild the model saved in CKPT and write it as ONNX "
                       "(checked with onnx.checker; the batch axis is left free). Run it with "
                       "ONNX Runtime: onnxruntime.InferenceSession('model.onnx').run(None, "
                       "{'input': x}).")
    p.add_argument("checkpoint", metavar="CKPT", help="a model.safetensors written by "
                   "'chainrule train'")
    p.add_argument("--onnx", required=True, metavar="PATH", help="the ONNX file to write")
    p.add_argument("--opset", type=T.positive_int, default=17, metavar="N",
                   help="ONNX opset version, 13 or newer (default: 17; 20+ writes GELU as one "
                   "Gelu op)")
    p.add_argument("--static-batch", action="store_true", help="fix the batch size to 2 "
                   "instead of leaving it free (default: off)")
    p.set_defaults(command="export")


def run(args) -> int:
    """Export the checkpoint's model; prints one line saying what was written."""
    import numpy as np

    from .. import onnx as cr_onnx
    from ..tensor import Tensor

    out = Path(args.onnx)
    if out.is_dir():
        raise CLIError(f"--onnx {str(out)!r} is a folder; give a file name (e.g. "
                       f"{out / 'model.onnx'})")
    model, _ = load_model(args.checkpoint)
    shape = [int(s) for s in model.config["input_shape"]]
    rng = np.random.default_rng(0)
    example = Tensor._wrap(rng.standard_normal([2] + shape).astype(np.float32), False, None)
    try:
        with phase(f"exporting the model of {args.checkpoint}", "the model's size"):
            proto = cr_onnx.export(model, example, out, dynamic_batch=not args.static_batch,
                                   opset_version=args.opset)
    except cr_onnx.ExportError as exc:
        raise CLIError(f"{args.checkpoint}: {exc}") from None
    batch = "2" if args.static_batch else "batch"
    print(f"wrote {out} (ONNX opset {args.opset}, {len(proto.graph.node)} nodes, "
          f"{len(proto.graph.initializer)} initializers; input 'input' of shape "
          f"[{', '.join([batch] + [str(s) for s in shape])}], output 'output')")
    return 0
