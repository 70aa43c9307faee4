"""Packing an image folder: ``chainrule data pack DIR OUT`` and :func:`pack_folder`.

``DIR`` holds one subfolder per class, as torchvision's ``ImageFolder`` reads it: class names
are the subfolder names, sorted, numbered from 0; each class's images are the files (at any
depth below it) with torchvision's image extensions, in sorted order. Every image is decoded
with Pillow and converted to RGB, so items are 3 x H x W uint8. Without ``size`` all images
must have the size of the first one (another size is an error naming the file); with
``size=(H, W)`` each is resized to it (bilinear) — packing never guesses a crop.

Decoding runs in ``jobs`` worker processes (``concurrent.futures.ProcessPoolExecutor`` with an
explicit start method: ``forkserver`` where it exists, else ``spawn``), in chunks of
``chunk_size`` images; the chunks are written in order through :class:`PackWriter`, so the
result does not depend on ``jobs``. A checkpoint follows every chunk: an interrupted pack, run
again with the same arguments over the same files, continues after the last verified chunk.
"""
from __future__ import annotations

import collections
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import DataError
from .image_folder import IMG_EXTENSIONS, find_classes, make_dataset
from .packed_write import PackWriter

__all__ = ["pack_folder", "scan_image_folder", "decode_image", "IMG_EXTENSIONS"]


def scan_image_folder(root: str | os.PathLike) -> tuple[list[str], list[tuple[str, int]]]:
    """``(classes, samples)`` of an image folder, exactly as :class:`~chainrule.data.ImageFolder`
    (and torchvision) list it: sorted class subfolder names, and ``(path, class index)`` for
    each image file, class by class, in sorted walk order."""
    classes, class_to_idx = find_classes(root)
    return classes, make_dataset(root, class_to_idx)


def decode_image(path: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """The image at ``path`` as a 3 x H x W uint8 array (RGB), resized to ``size = (H, W)``
    with bilinear filtering if given. A file Pillow cannot decode is a :class:`DataError`
    naming it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("decoding images needs Pillow: pip install 'chainrule[images]'") \
            from None
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.BILINEAR)
            hwc = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DataError(path, f"cannot decode this image with Pillow ({type(e).__name__}: "
                              f"{e})") from None
    return np.ascontiguousarray(hwc.transpose(2, 0, 1))


def _decode_chunk(paths: list[str], size: tuple[int, int] | None,
                  shape: tuple[int, int, int]) -> tuple:
    """Decode ``paths`` into one K x C x H x W array: ``("ok", array)``, or
    ``("error", path, problem)`` (errors travel back as data, not as pickled exceptions)."""
    out = np.empty((len(paths),) + tuple(shape), dtype=np.uint8)
    for i, p in enumerate(paths):
        try:
            chw = decode_image(p, size)
        except DataError as e:
            return "error", p, e.problem
        if chw.shape != tuple(shape):
            return ("error", p, f"image is {chw.shape[2]}x{chw.shape[1]} (W x H) but the "
                    f"first image is {shape[2]}x{shape[1]}; all images must have one size, or "
                    f"pass --size H,W (size=(H, W)) to resize them")
        out[i] = chw
    return "ok", out


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _plan(root: Path, samples, classes, size, shape) -> str:
    """A digest of what is packed: the files (name, bytes, mtime), classes, size and shape."""
    h = hashlib.sha256()
    h.update(json.dumps([str(root), classes, size, list(shape)]).encode())
    for path, label in samples:
        st = os.stat(path)
        h.update(f"\n{os.path.relpath(path, root)}\0{label}\0{st.st_size}\0{st.st_mtime_ns}"
                 .encode())
    return h.hexdigest()


def default_jobs() -> int:
    """The CPUs this process may use."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, count or 1)


def pack_folder(root: str | os.PathLike, out: str | os.PathLike, *, jobs: int | None = None,
                size: tuple[int, int] | None = None, chunk_size: int = 256,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Decode the image folder ``root`` once into the packed folder ``out`` (see the module
    notes); returns a summary ``{"out", "count", "shape", "classes", "resumed"}`` where
    ``resumed`` counts the images a previous interrupted run had already packed.

    ``jobs`` worker processes decode (default: the usable CPUs; 1 decodes in this process).
    ``progress(done, total)`` is called after each chunk.
    """
    root = Path(root).resolve()
    if jobs is None:
        jobs = default_jobs()
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"pack_folder: jobs must be a positive integer, got {jobs!r}")
    if chunk_size < 1:
        raise ValueError(f"pack_folder: chunk_size must be positive, got {chunk_size!r}")
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise ValueError(f"pack_folder: size must be two positive integers (H, W), got "
                             f"{size}")
    classes, samples = scan_image_folder(root)
    first = decode_image(samples[0][0], size)
    shape = first.shape
    writer = PackWriter(out, shape, classes, source=str(root),
                        plan=_plan(root, samples, classes, size, shape))
    try:
        todo = samples[writer.done:]
        chunks = [todo[i:i + chunk_size] for i in range(0, len(todo), chunk_size)]
        done = writer.done
        for chunk, result in zip(chunks, _decoded(chunks, size, shape, jobs)):
            if result[0] == "error":
                raise DataError(result[1], result[2])
            writer.append(result[1], np.array([label for _, label in chunk], dtype=np.int64))
            writer.checkpoint()
            done += len(chunk)
            if progress is not None:
                progress(done, len(samples))
        path = writer.finish()
    finally:
        writer.close()
    return {"out": path, "count": len(samples), "shape": tuple(shape), "classes": classes,
            "resumed": writer.resumed}


def _decoded(chunks: list, size, shape, jobs: int):
    """Each chunk's ``_decode_chunk`` result, in order, with at most ``2 * jobs`` in flight."""
    paths = [[p for p, _ in chunk] for chunk in chunks]
    if jobs == 1 or len(chunks) <= 1:
        for p in paths:
            yield _decode_chunk(p, size, shape)
        return
    pending: collections.deque = collections.deque()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        try:
            for p in paths:
                pending.append(pool.submit(_decode_chunk, p, size, shape))
                if len(pending) >= 2 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise RuntimeError(f"pack_folder: a decoding worker process died (killed, or out "
                               f"of memory); what was packed so far is kept - run again to "
                               f"resume, with fewer jobs (jobs=1 decodes in this process)") \
                from None
        finally:
            for f in pending:
                f.cancel()
