"""``chainrule data pack DIR OUT``: decode an image folder once into a packed folder.

DIR holds one subfolder per class (torchvision's ImageFolder layout); OUT receives the packed
format of :mod:`chainrule.data.packed` (``images.u8``, ``labels.i64``, ``header.json``), read
back with ``chainrule.data.PackedDataset(OUT)``. Packing writes OUT.partial/ and renames it
when done; an interrupted pack, run again with the same arguments, continues where it stopped.
"""
from __future__ import annotations

import argparse
import sys

from . import types as T
from .errors import CLIError

__all__ = ["add_parser", "run"]


def _size(text: str) -> tuple[int, int]:
    parts = text.replace("x", ",").split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected H,W (two positive integers), got {text!r}")
    h, w = (T.positive_int(p) for p in parts)
    return h, w


def add_parser(sub) -> None:
    """The ``data`` command and its ``pack`` subcommand."""
    p = sub.add_parser("data", help="prepare datasets (pack an image folder)",
                       description="Dataset tools. 'chainrule data pack DIR OUT' decodes an "
                       "image folder once into a packed folder that PackedDataset streams.")
    actions = p.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    pk = actions.add_parser("pack", help="decode an image folder into a packed folder",
                            description="Decode every image of DIR (one subfolder per class, "
                            "sorted names = class indices; Pillow, converted to RGB) into OUT: "
                            "images.u8 (N x 3 x H x W uint8), labels.i64 and header.json (shape, "
                            "class names, SHA-256 checksums). All images must have one size "
                            "unless --size resizes them. Atomic (OUT.partial/ is renamed when "
                            "complete) and resumable (rerun the same command after an "
                            "interruption).")
    pk.add_argument("folder", metavar="DIR", help="image folder, one subfolder per class")
    pk.add_argument("out", metavar="OUT", help="packed folder to create (must not exist)")
    pk.add_argument("--jobs", type=T.positive_int, default=None, metavar="N",
                    help="decoding processes (default: the usable CPUs; 1: no worker "
                    "processes)")
    pk.add_argument("--size", type=_size, default=None, metavar="H,W",
                    help="resize every image to H x W, bilinear (default: keep the size, "
                    "which must then be the same for all images)")
    pk.add_argument("--chunk-size", type=T.positive_int, default=256, metavar="N",
                    help="images per worker task and per resume checkpoint (default: 256)")
    p.set_defaults(command="data")


def run(args) -> int:
    """Run ``chainrule data ACTION``; prints one line saying what was written."""
    if args.data_action != "pack":
        raise CLIError(f"unknown data action {args.data_action!r}")
    from ..data.pack_images import pack_folder

    result = pack_folder(args.folder, args.out, jobs=args.jobs, size=args.size,
                         chunk_size=args.chunk_size)
    c, h, w = result["shape"]
    resumed = (f"; resumed after {result['resumed']} already packed" if result["resumed"]
               else "")
    print(f"packed {result['count']} images of {c}x{h}x{w} in {len(result['classes'])} "
          f"classes from {args.folder} into {result['out']}{resumed}", file=sys.stdout)
    return 0
