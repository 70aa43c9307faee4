"""Images per second: a packed folder against decoding the JPEG folder it came from.

A folder of 64 x 64 JPEGs (``--files``, 10 classes) is written once and packed once with
``chainrule.data.pack_folder``; then each case streams it into normalised float32 batches of
``--batch`` through chainrule's DataLoader (``num_workers=0``, in the training process):

- ``jpeg``: a Dataset that decodes each file with Pillow (RGB), scales to [0, 1], normalises
  per channel, item by item (what ImageFolder + ToTensor + Normalize do);
- ``packed``: ``PackedDataset`` with the same normalisation as a ``batch_transform``, so each
  batch is one positioned read and one vectorised transform;
- ``packed-item``: ``PackedDataset`` with the normalisation as a per-sample ``transform``
  (item by item, as a random augmentation would need).

Every measurement is a fresh process (the cases alternate, ``--rounds`` of each); a process
runs whole epochs for at least ``--seconds`` and reports images/s. The table gives the median
over rounds, the spread (min-max) and the ratio to ``jpeg``. Nothing here asserts a time.

    PYTHONPATH=src python bench/packed_speed.py --rounds 5
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CASES = ("jpeg", "packed", "packed-item")


def make_jpegs(root: Path, files: int, size: int, classes: int = 10) -> None:
    """Smooth colour gradients with noise (so JPEG has real work), ``files`` in all."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(files):
        folder = root / f"class{i % classes:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        a, b, c = rng.uniform(0, 255, 3)
        img = np.stack([a * xx + 40 * yy, b * yy, c * (1 - xx)], axis=-1)
        img += rng.normal(0, 12, img.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg",
                                                                    quality=90)


def _loader(dataset, batch: int):
    from chainrule.data import DataLoader

    extra = {"num_workers": 0} if "num_workers" in inspect.signature(DataLoader).parameters \
        else {}
    return DataLoader(dataset, batch_size=batch, shuffle=True, generator=0, **extra)


def child(case: str, jpegs: Path, packed: Path, batch: int, seconds: float) -> dict:
    """One measurement in this process: images/s of whole epochs over at least ``seconds``."""
    import numpy as np
    from PIL import Image

    from chainrule.data import Dataset, PackedDataset
    from chainrule.data.pack_images import scan_image_folder

    # (x / 255 - mean) / std  ==  x * scale + shift, per channel
    scale = (1 / (255 * np.array(STD))).astype(np.float32).reshape(-1, 1, 1)
    shift = (-np.array(MEAN) / np.array(STD)).astype(np.float32).reshape(-1, 1, 1)

    def normalise(chw):  # one image (C, H, W) or a batch (B, C, H, W): the same arithmetic
        out = chw.astype(np.float32)
        out *= scale
        out += shift
        return out

    normalise_batch = normalise

    class JpegFolder(Dataset):
        def __init__(self, root):
            self.classes, self.samples = scan_image_folder(root)

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, i):
            path, label = self.samples[i]
            with Image.open(path) as img:
                chw = np.asarray(img.convert("RGB")).transpose(2, 0, 1)
            return normalise(chw), label

    if case == "jpeg":
        dataset = JpegFolder(jpegs)
    elif case == "packed":
        dataset = PackedDataset(packed, batch_transform=normalise_batch)
    else:
        dataset = PackedDataset(packed, transform=normalise)
    loader = _loader(dataset, batch)
    images, epochs = 0, 0
    start, cpu0 = time.perf_counter(), time.process_time()
    while True:
        for x, y in loader:
            assert x.dtype == np.float32 or str(x.dtype).endswith("float32")
            images += x.shape[0]
        epochs += 1
        if time.perf_counter() - start >= seconds:
            break
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {"case": case, "images": images, "epochs": epochs, "wall_s": wall, "cpu_s": cpu,
            "images_per_s": images / wall, "cpu_images_per_s": images / cpu}


def cpu_model() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown (no lscpu)"
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=1.5, help="minimum time per measurement")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    ap.add_argument("--paths", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, *args.paths, args.batch, args.seconds)))
        return

    from chainrule.data import pack_folder

    tmp = tempfile.TemporaryDirectory() if args.workdir is None else None
    work = Path(tmp.name if tmp else args.workdir)
    jpegs, packed = work / "jpegs", work / "packed"
    if not jpegs.exists():
        make_jpegs(jpegs, args.files, args.size)
    if not packed.exists():
        t = time.perf_counter()
        pack_folder(jpegs, packed)
        print(f"packed {args.files} JPEGs in {time.perf_counter() - t:.2f} s")
    rounds: dict[str, list[dict]] = {c: [] for c in CASES}
    for r in range(args.rounds):
        order = CASES if r % 2 == 0 else CASES[::-1]  # alternate which case goes first
        for case in order:
            cmd = [sys.executable, __file__, "--child", case, "--paths", str(jpegs), str(packed),
                   "--batch", str(args.batch), "--seconds", str(args.seconds)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rounds[case].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs, load average {load:.1f}; "
          f"{args.files} JPEGs of {args.size}x{args.size}, batches of {args.batch}, "
          f"{args.rounds} rounds")
    base = statistics.median(m["images_per_s"] for m in rounds["jpeg"])
    print(f"{'case':<12}{'images/s':>12}{'spread (min-max)':>22}{'CPU images/s':>15}"
          f"{'x jpeg':>9}")
    for case in CASES:
        rates = [m["images_per_s"] for m in rounds[case]]
        cpu = statistics.median(m["cpu_images_per_s"] for m in rounds[case])
        med = statistics.median(rates)
        print(f"{case:<12}{med:>12.0f}{f'{min(rates):.0f}-{max(rates):.0f}':>22}{cpu:>15.0f}"
              f"{med / base:>9.2f}")
    for case in CASES:
        rates = [round(m["images_per_s"], 1) for m in rounds[case]]
        print(json.dumps({"bench": "packed_speed", "case": case, "files": args.files,
                          "size": args.size, "batch": args.batch,
                          "images_per_s": round(statistics.median(rates), 1),
                          "ratio_to_jpeg": round(statistics.median(rates) / base, 2),
                          "rounds": rates}))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
