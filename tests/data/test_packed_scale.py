"""An ILSVRC-sized epoch: 1,281,167 packed 3 x 32 x 32 images (3.9 GB) streamed through the
DataLoader in a fresh process, whose peak resident memory (VmHWM) must stay under 600 MB and
whose bytes read (``/proc/self/io`` rchar, imports included) must not exceed 1.05 passes over
the images file. Run with ``pytest -m slow -s`` to see the numbers (shuffled order too)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.data import PackedDataset, write_packed

ILSVRC_TRAIN = 1_281_167
SHAPE = (3, 32, 32)
CLASSES = 1000
CHUNK = 16_384

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/io").exists(),
                                 reason="needs Linux's /proc/self/io and /proc/self/status")]

CHILD = r"""
import hashlib, json, sys, time
import numpy as np
from chainrule.data import DataLoader, PackedDataset

def proc(path, key):
    for line in open(path):
        if line.startswith(key):
            return int(line.split()[1])

rchar0 = proc("/proc/self/io", "rchar:")
ds = PackedDataset(sys.argv[1])
shuffle = sys.argv[2] == "shuffle"
loader = DataLoader(ds, batch_size=1024, shuffle=shuffle, generator=0)
digest, count, label_sum = hashlib.sha256(), 0, 0
start = time.perf_counter()
for x, y in loader:
    if not shuffle:
        digest.update(memoryview(x.numpy()).cast("B"))
    count += x.shape[0]
    label_sum += int(y.numpy().sum())
seconds = time.perf_counter() - start
print(json.dumps({"count": count, "label_sum": label_sum, "seconds": seconds,
                  "sha256": digest.hexdigest() if not shuffle else None,
                  "rchar": proc("/proc/self/io", "rchar:"), "rchar_at_start": rchar0,
                  "vmhwm_kb": proc("/proc/self/status", "VmHWM:")}))
"""


def _chunks(n: int):
    """Deterministic uint8 images, CHUNK at a time: one random block, varied per chunk."""
    base = np.random.default_rng(0).integers(0, 256, (CHUNK,) + SHAPE, dtype=np.uint8)
    for k, lo in enumerate(range(0, n, CHUNK)):
        yield (base[:min(CHUNK, n - lo)] ^ np.uint8(k % 256))


def _stream(out: Path, order: str) -> dict:
    src = str(Path(chainrule.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), order], env=env,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_ilsvrc_sized_epoch_streams_in_bounded_memory_with_one_pass(tmp_path):
    labels = np.arange(ILSVRC_TRAIN, dtype=np.int64) % CLASSES
    out = write_packed(tmp_path / "ilsvrc32", _chunks(ILSVRC_TRAIN), labels,
                       [f"n{c:08d}" for c in range(CLASSES)], source="synthetic")
    ds = PackedDataset(out)
    header = ds.header
    size = header["files"]["images"]["bytes"]
    assert size == ILSVRC_TRAIN * 3 * 32 * 32 == os.path.getsize(out / "images.u8")
    ds.close()

    seq = _stream(out, "sequential")
    print(f"\nsequential epoch: {seq['count']} images in {seq['seconds']:.1f} s "
          f"({seq['count'] / seq['seconds']:.0f} images/s); VmHWM {seq['vmhwm_kb'] / 1024:.0f} "
          f"MiB; rchar {seq['rchar']} = {seq['rchar'] / size:.4f} x the images file "
          f"({size} bytes; {seq['rchar_at_start']} read before the epoch)")
    assert seq["count"] == ILSVRC_TRAIN
    assert seq["label_sum"] == int(labels.sum())
    assert seq["sha256"] == header["files"]["images"]["sha256"]  # every byte, in order
    assert seq["vmhwm_kb"] * 1024 < 600e6
    assert seq["rchar"] <= 1.05 * size

    shuf = _stream(out, "shuffle")  # measured, not asserted: one positioned read per item
    print(f"shuffled epoch: {shuf['count']} images in {shuf['seconds']:.1f} s "
          f"({shuf['count'] / shuf['seconds']:.0f} images/s); VmHWM "
          f"{shuf['vmhwm_kb'] / 1024:.0f} MiB; rchar {shuf['rchar'] / size:.4f} x the file")
    assert shuf["count"] == ILSVRC_TRAIN and shuf["label_sum"] == int(labels.sum())
