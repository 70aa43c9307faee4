"""Loader speed: images per second decoding a folder of 64×64 JPEGs into normalised float32
batches of 128, chainrule's DataLoader against ``torch.utils.data.DataLoader``, with 0, 1 and
2 workers (issue #16's speed benchmark).

Both loaders get the same Pillow-based Dataset (the class below): each item opens one JPEG,
decodes it to RGB, scales to [0, 1], normalises per channel and transposes to CHW; the default
collate stacks 128 of them. Both decode with Pillow, so the difference is the loaders' own
overhead (sampling, collation, moving batches out of the workers). Workers are persistent and
warmed up by one epoch, then one epoch is timed — steady-state throughput, not start-up (the
start-up of each start method is printed separately). The two loaders alternate for ``--rounds``
rounds (the order flips each round) in one process; the table gives medians and the spread
(min–max over rounds) and the ratio chainrule / PyTorch of images/s (above 1: chainrule faster).

    python bench/loader_speed.py [--images 2000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


class JpegFolder:
    """(image, label) pairs from a list of JPEG files: CHW float32, normalised."""

    def __init__(self, files: list[tuple[str, int]]):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image
        path, label = self.files[i]
        with Image.open(path) as img:
            x = np.asarray(img.convert("RGB"), dtype=np.float32)
        x = (x.transpose(2, 0, 1) * np.float32(1 / 255) - MEAN) / STD
        return x, label


def make_folder(root: str, count: int, classes: int = 4) -> list[tuple[str, int]]:
    """``count`` 64×64 JPEGs of smooth random colour fields, spread over ``classes`` folders."""
    from PIL import Image
    rng = np.random.default_rng(0)
    files = []
    for i in range(count):
        label = i % classes
        folder = os.path.join(root, f"class{label}")
        os.makedirs(folder, exist_ok=True)
        coarse = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((64, 64), Image.BILINEAR)
        path = os.path.join(folder, f"{i:05d}.jpg")
        img.save(path, quality=90)
        files.append((path, label))
    return files


def _epoch(loader) -> float:
    start, n = time.perf_counter(), 0
    for x, _ in loader:
        n += x.shape[0]
    return n / (time.perf_counter() - start)


def _loaders(dataset, workers: int):
    import torch.utils.data as tud
    import chainrule.data as crd
    extra = dict(num_workers=workers)
    if workers:
        extra.update(persistent_workers=True, prefetch_factor=2)
    ours = crd.DataLoader(dataset, batch_size=128, shuffle=True, generator=0, **extra)
    theirs = tud.DataLoader(dataset, batch_size=128, shuffle=True, **extra)
    return {"chainrule": ours, "torch": theirs}


def _start_up(dataset) -> dict:
    """Seconds from iter() to the first batch of a fresh 2-worker loader, per library."""
    out = {}
    for name, loader in _loaders(dataset, 2).items():
        start = time.perf_counter()
        next(iter(loader))
        out[name] = round(time.perf_counter() - start, 3)
        if name == "chainrule":
            loader.shutdown_workers()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(os.cpu_count())
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines()
                  if ln.startswith("Model name")), "unknown")
    print(f"CPU: {model}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as root:
        dataset = JpegFolder(make_folder(root, args.images))
        print("first batch of a fresh 2-worker loader (s):", _start_up(dataset))
        rows = []
        for workers in (0, 1, 2):
            loaders = _loaders(dataset, workers)
            for loader in loaders.values():
                _epoch(loader)  # warm-up: workers started, files in the page cache
            rounds = {name: [] for name in loaders}
            for r in range(args.rounds):
                names = list(loaders) if r % 2 == 0 else list(loaders)[::-1]
                for name in names:
                    rounds[name].append(_epoch(loaders[name]))
            loaders["chainrule"].shutdown_workers()
            del loaders
            med = {k: statistics.median(v) for k, v in rounds.items()}
            rows.append({"bench": "loader_speed", "workers": workers, "images": args.images,
                         "rounds": args.rounds,
                         "chainrule_images_per_s": round(med["chainrule"], 1),
                         "torch_images_per_s": round(med["torch"], 1),
                         "ratio": round(med["chainrule"] / med["torch"], 3),
                         "chainrule_rounds": [round(v, 1) for v in rounds["chainrule"]],
                         "torch_rounds": [round(v, 1) for v in rounds["torch"]]})
        print(f"{'workers':>7}  {'chainrule img/s (min–max)':>28}  "
              f"{'PyTorch img/s (min–max)':>26}  ratio")
        for row in rows:
            c, t = row["chainrule_rounds"], row["torch_rounds"]
            print(f"{row['workers']:>7}  {row['chainrule_images_per_s']:>9.0f} "
                  f"({min(c):>6.0f}–{max(c):<6.0f})      {row['torch_images_per_s']:>9.0f} "
                  f"({min(t):>6.0f}–{max(t):<6.0f})  {row['ratio']:.2f}")
        for row in rows:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
