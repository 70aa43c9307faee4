"""Writing packed folders (the format is described in :mod:`chainrule.data.packed`):
:class:`PackWriter`, which both writers share, and :func:`write_packed`, from arrays.

A folder is written as ``OUT.partial/`` and renamed to ``OUT`` only once complete, its files
synced, so a crash never leaves an ``OUT`` that is half written. A *resumable* writer also keeps
``OUT.partial/progress.json``: after each checkpoint it records how many items are on disk and
the SHA-256 of each chunk written since the last one. A new writer with the same ``plan`` (a
digest of what is being packed) re-reads the chunks recorded there, keeps the prefix whose
checksums still match, cuts the files back to it and continues after it; a different plan, or
none, starts afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

import numpy as np

from ..io.atomic import write_text
from .errors import DataError
from .packed import (FORMAT_NAME, FORMAT_VERSION, HEADER_NAME, IMAGES_NAME, LABELS_DTYPE,
                     LABELS_NAME, read_header)

__all__ = ["PackWriter", "write_packed", "partial_path"]

PROGRESS_NAME = "progress.json"
_BLOCK = 16 << 20


def partial_path(out: str | os.PathLike) -> Path:
    """Where the folder ``out`` is assembled before it is renamed: ``out.partial``."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _hash_range(f, start: int, nbytes: int, *hashers) -> None:
    f.seek(start)
    while nbytes > 0:
        block = f.read(min(_BLOCK, nbytes))
        if not block:
            raise EOFError
        for h in hashers:
            h.update(block)
        nbytes -= len(block)


class PackWriter:
    """Appends uint8 images (items of ``shape`` = C, H, W) and their labels to
    ``OUT.partial/`` and renames it to ``out`` on :meth:`finish`.

    ``plan`` (a string, e.g. a digest of the source file list) makes the writer resumable:
    see the module notes; :attr:`done` is then the number of items already on disk, which the
    caller skips. Without a plan any old ``OUT.partial`` is removed.
    """

    def __init__(self, out: str | os.PathLike, shape: tuple[int, ...], classes: list[str], *,
                 source: str | None = None, plan: str | None = None):
        self.out = Path(out)
        self.partial = partial_path(self.out)
        if self.out.exists():
            raise DataError(self.out, "already exists; remove it or choose another output "
                                      "folder (packing never overwrites)")
        self.shape = tuple(int(s) for s in shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"PackWriter: item shape must be (C, H, W) of positive sizes, got "
                             f"{shape}")
        self.classes = [str(c) for c in classes]
        if not self.classes:
            raise ValueError("PackWriter: classes must name at least one class")
        self.source, self.plan = source, plan
        self.item_bytes = int(np.prod(self.shape))
        self._images_hash, self._labels_hash = hashlib.sha256(), hashlib.sha256()
        self._chunks: list[dict] = []
        self.done = 0
        self.resumed = 0
        if not (plan is not None and self._resume()):
            if self.partial.exists():
                shutil.rmtree(self.partial)
            self.partial.mkdir(parents=True)
            for name in (IMAGES_NAME, LABELS_NAME):
                (self.partial / name).touch()
        self._images = open(self.partial / IMAGES_NAME, "r+b")
        self._labels = open(self.partial / LABELS_NAME, "r+b")
        self._images.seek(self.done * self.item_bytes)
        self._labels.seek(self.done * 8)
        self._truncate()
        self._pending = 0
        self._chunk_images, self._chunk_labels = hashlib.sha256(), hashlib.sha256()

    # ---- resuming ------------------------------------------------------------------------
    def _resume(self) -> bool:
        """Continue a partial folder of the same plan: True if one was found (and verified)."""
        try:
            progress = json.loads((self.partial / PROGRESS_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if (not isinstance(progress, dict) or progress.get("plan") != self.plan
                or progress.get("shape") != list(self.shape)
                or progress.get("classes") != self.classes):
            return False
        chunks = progress.get("chunks")
        if not isinstance(chunks, list):
            return False
        try:
            with open(self.partial / IMAGES_NAME, "rb") as fi, \
                    open(self.partial / LABELS_NAME, "rb") as fl:
                for chunk in chunks:
                    n = int(chunk["count"])
                    hi, hl = hashlib.sha256(), hashlib.sha256()
                    whole_i, whole_l = self._images_hash.copy(), self._labels_hash.copy()
                    try:
                        _hash_range(fi, self.done * self.item_bytes, n * self.item_bytes,
                                    hi, whole_i)
                        _hash_range(fl, self.done * 8, n * 8, hl, whole_l)
                    except EOFError:
                        break
                    if hi.hexdigest() != chunk["images_sha256"] or \
                            hl.hexdigest() != chunk["labels_sha256"]:
                        break  # this chunk changed on disk: keep what precedes it
                    self._images_hash, self._labels_hash = whole_i, whole_l
                    self._chunks.append(chunk)
                    self.done += n
        except (OSError, KeyError, TypeError, ValueError):
            self._images_hash, self._labels_hash = hashlib.sha256(), hashlib.sha256()
            self._chunks, self.done = [], 0
            return False
        self.resumed = self.done
        return True

    def _truncate(self) -> None:
        """Cut both files back to the ``done`` items (a crash may have left more bytes)."""
        self._images.truncate(self.done * self.item_bytes)
        self._labels.truncate(self.done * 8)

    # ---- writing -------------------------------------------------------------------------
    def append(self, images: np.ndarray, labels) -> None:
        """Write a batch: ``images`` K x C x H x W uint8 and ``labels`` K integers in
        ``[0, len(classes))``."""
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8 or images.shape[1:] != self.shape:
            raise ValueError(f"PackWriter: images must be uint8 of shape (K, "
                             f"{', '.join(map(str, self.shape))}), got {np.dtype(images.dtype).name} "
                             f"{tuple(images.shape)}")
        if labels.shape != images.shape[:1] or labels.dtype.kind not in "iu":
            raise ValueError(f"PackWriter: labels must be {len(images)} integers, got "
                             f"{np.dtype(labels.dtype).name} {tuple(labels.shape)}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            bad = int(labels[(labels < 0) | (labels >= len(self.classes))][0])
            raise ValueError(f"PackWriter: label {bad} is outside [0, {len(self.classes)}) "
                             f"(one per class name)")
        img = np.ascontiguousarray(images).data
        lab = np.ascontiguousarray(labels.astype(LABELS_DTYPE)).data
        self._images.write(img)
        self._labels.write(lab)
        for h in (self._images_hash, self._chunk_images) if self.plan else (self._images_hash,):
            h.update(img)
        for h in (self._labels_hash, self._chunk_labels) if self.plan else (self._labels_hash,):
            h.update(lab)
        self._pending += len(images)

    def _sync(self) -> None:
        for f in (self._images, self._labels):
            f.flush()
            os.fsync(f.fileno())

    def checkpoint(self) -> None:
        """Make the items written so far survive a crash (resumable writers only)."""
        if self.plan is None or self._pending == 0:
            return
        self._sync()
        self._chunks.append({"count": self._pending,
                             "images_sha256": self._chunk_images.hexdigest(),
                             "labels_sha256": self._chunk_labels.hexdigest()})
        self.done += self._pending
        self._pending = 0
        self._chunk_images, self._chunk_labels = hashlib.sha256(), hashlib.sha256()
        progress = {"plan": self.plan, "shape": list(self.shape), "classes": self.classes,
                    "done": self.done, "chunks": self._chunks}
        write_text(self.partial / PROGRESS_NAME, json.dumps(progress), what="pack progress")

    def finish(self) -> Path:
        """Write the header, sync, and rename ``OUT.partial`` to ``OUT``; returns ``OUT``."""
        self.done += self._pending
        self._pending = 0
        self._sync()
        self._images.close()
        self._labels.close()
        count = self.done
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "count": count,
                  "shape": list(self.shape), "dtype": "uint8", "labels_dtype": "int64",
                  "classes": self.classes, "source": self.source,
                  "files": {"images": {"name": IMAGES_NAME, "bytes": count * self.item_bytes,
                                       "sha256": self._images_hash.hexdigest()},
                            "labels": {"name": LABELS_NAME, "bytes": count * 8,
                                       "sha256": self._labels_hash.hexdigest()}}}
        write_text(self.partial / HEADER_NAME, json.dumps(header, indent=1) + "\n",
                   what="packed header")
        (self.partial / PROGRESS_NAME).unlink(missing_ok=True)
        _fsync_dir(self.partial)
        read_header(self.partial)  # what we wrote must read back
        if self.out.exists():
            raise DataError(self.out, "appeared while packing; the packed data is left in "
                                      f"{self.partial}")
        os.rename(self.partial, self.out)
        _fsync_dir(self.out.parent)
        return self.out

    def close(self) -> None:
        """Close the files without finishing (the partial folder stays, for a resume)."""
        for f in (self._images, self._labels):
            if not f.closed:
                f.close()


def write_packed(out: str | os.PathLike, images: Iterable[np.ndarray], labels,
                 classes: list[str], *, source: str | None = None) -> Path:
    """Write a packed folder ``out`` from arrays, atomically; returns ``out``.

    ``images`` yields uint8 arrays, each one image (C x H x W) or a batch of them
    (K x C x H x W), all of one item shape; ``labels`` holds one integer per image, in
    ``[0, len(classes))``. Chunks are streamed to disk as they come, so a generator can write
    a dataset larger than memory. On error nothing is left at ``out``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"write_packed: labels must be a 1-D integer array, got "
                         f"{np.dtype(labels.dtype).name} of shape {tuple(labels.shape)}")
    writer: PackWriter | None = None
    at = 0
    try:
        for item in images:
            item = np.asarray(item)
            batch = item[None] if item.ndim == 3 else item
            if batch.ndim != 4:
                raise ValueError(f"write_packed: each image must be C x H x W (or a batch "
                                 f"K x C x H x W), got shape {tuple(item.shape)}")
            if writer is None:
                writer = PackWriter(out, batch.shape[1:], classes, source=source)
            if at + len(batch) > len(labels):
                raise ValueError(f"write_packed: more images than the {len(labels)} labels")
            writer.append(batch, labels[at:at + len(batch)])
            at += len(batch)
        if writer is None:
            raise ValueError("write_packed: no images (the item shape cannot be known)")
        if at != len(labels):
            raise ValueError(f"write_packed: {at} images but {len(labels)} labels")
        return writer.finish()
    except BaseException:
        if writer is not None:
            writer.close()
            shutil.rmtree(writer.partial, ignore_errors=True)
        raise
