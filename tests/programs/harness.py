"""Run one PyTorch-style program against two libraries with the same weights and randomness.

A program is a module with ``build(torch) -> dict[str, Module]`` (the models whose initial
weights the harness fixes; may be empty) and ``main(torch, source, models) -> dict`` returning
``losses`` (floats, compared step by step), optionally ``values`` (any JSON-like floats/strings/
bools/lists, compared exactly or to float32 tolerance), ``params`` (name -> NumPy array, compared
to float32 tolerance) and ``stats`` (name -> (value, tolerance): quantities that depend on the
library's own random numbers, compared loosely against the other run).

The harness builds the models on torch, writes their state as one safetensors file, and loads it
into both sides (torch through ``safetensors.torch``, chainrule through ``chainrule.load``), so the
starting weights agree bit for bit. Randomness the program needs comes from :class:`Source`, one
NumPy generator per run seeded the same way, handing out tensors of the library it serves.
"""
from __future__ import annotations

import gzip
import importlib
import math
from pathlib import Path
from typing import Any

import numpy as np

RTOL, ATOL = 2e-4, 2e-5  # float32 round-off after a few optimizer steps


class Source:
    """The randomness of one program run: NumPy draws, returned as ``torch`` tensors (float32
    unless said otherwise), so two runs with the same seed see the same numbers."""

    def __init__(self, torch, seed: int, data_dir: Path | None = None,
                 scratch: Path | None = None):
        self.torch = torch
        self.scratch = scratch
        self.rng = np.random.default_rng(seed)
        self.data_dir = data_dir

    def _t(self, a: np.ndarray):
        return self.torch.tensor(a)

    def randn(self, *shape: int):
        return self._t(self.rng.standard_normal(shape).astype(np.float32))

    def rand(self, *shape: int):
        return self._t(self.rng.random(shape).astype(np.float32))

    def randint(self, low: int, high: int, shape: tuple[int, ...]):
        return self._t(self.rng.integers(low, high, size=shape).astype(np.int64))

    def permutation(self, n: int) -> list[int]:
        return [int(i) for i in self.rng.permutation(n)]

    def bernoulli(self, p_keep: float, *shape: int):
        """A float32 0/1 mask, 1 with probability ``p_keep``."""
        return self._t((self.rng.random(shape) < p_keep).astype(np.float32))

    def path(self, name: str) -> str:
        """A file name in this run's own scratch folder (for a program's checkpoints)."""
        folder = self.scratch / self.torch.__name__
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / name)

    def mnist(self, n: int):
        """``n`` images (N, 1, 28, 28) in [0, 1] and int64 labels: the real t10k digits when the
        shared datasets are present, else random ones drawn here (same shapes and ranges)."""
        images, labels = _read_t10k(self.data_dir, n)
        if images is None:
            images = self.rng.random((n, 1, 28, 28)).astype(np.float32)
            labels = self.rng.integers(0, 10, size=n).astype(np.int64)
        return self._t(images), self._t(labels)


def _read_t10k(data_dir: Path | None, n: int):
    folder = None if data_dir is None else data_dir / "mnist"
    img = None if folder is None else folder / "t10k-images-idx3-ubyte.gz"
    lab = None if folder is None else folder / "t10k-labels-idx1-ubyte.gz"
    if img is None or not img.is_file() or not lab.is_file():
        return None, None
    with gzip.open(img, "rb") as f:
        raw = f.read(16 + n * 784)
    with gzip.open(lab, "rb") as f:
        labels = np.frombuffer(f.read(8 + n), np.uint8, offset=8).astype(np.int64)
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, 28, 28)
    return (images / np.float32(255)).astype(np.float32), labels


def _save_initial(models: dict, path: Path) -> None:
    from safetensors.numpy import save_file
    flat = {}
    for name, model in models.items():
        for key, value in model.state_dict().items():
            flat[f"{name}.{key}"] = value.detach().cpu().numpy().copy(order="C")
    save_file(flat, str(path))


def _load_initial(lib, models: dict, path: Path) -> None:
    if lib.__name__ == "torch":
        from safetensors.torch import load_file
        flat = load_file(str(path))
    else:
        flat = lib.load(path)
    for name, model in models.items():
        prefix = name + "."
        model.load_state_dict({k[len(prefix):]: v for k, v in flat.items()
                               if k.startswith(prefix)})


def run(program: str, lib, tmp: Path, data_dir: Path | None, seed: int = 0) -> dict:
    """Run ``tests.programs.<program>`` on ``lib`` (a module used as ``torch``) with the initial
    weights in ``tmp`` (written from torch on the first call)."""
    prog = importlib.import_module(f"tests.programs.{program}")
    weights = tmp / f"{program}.safetensors"
    if not weights.exists():
        import torch
        _save_initial(prog.build(torch), weights)
    models = prog.build(lib)
    _load_initial(lib, models, weights)
    result = prog.main(lib, Source(lib, seed, data_dir, tmp), models)
    return {**result, "library": lib.__name__}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL) or (math.isnan(a) and math.isnan(b))


def compare(program: str, ref: dict, got: dict) -> list[str]:
    """Every disagreement between the torch run ``ref`` and the other run ``got``, in words."""
    problems = []
    if set(ref) - {"library"} != set(got) - {"library"}:
        problems.append(f"{program}: result keys {sorted(got)} != torch's {sorted(ref)}")
    r, g = list(ref.get("losses", [])), list(got.get("losses", []))
    if len(r) != len(g):
        problems.append(f"{program}: {len(g)} losses, torch gave {len(r)}")
    for step, (a, b) in enumerate(zip(r, g)):
        if not _close(float(a), float(b)):
            problems.append(f"{program}: loss at step {step}: {b!r} vs torch {a!r}")
    prefix = got.get("library", "torch") + "."
    for key, a in ref.get("values", {}).items():
        b = _as_torch(got.get("values", {}).get(key, "<missing>"), prefix)
        if not _same(a, b):
            problems.append(f"{program}: value {key!r}: {b!r} vs torch {a!r}")
    for key, a in ref.get("params", {}).items():
        b = got.get("params", {}).get(key)
        if b is None or np.shape(a) != np.shape(b) or not np.allclose(
                b, a, rtol=RTOL * 10, atol=ATOL * 10):
            worst = None if b is None or np.shape(a) != np.shape(b) else float(
                np.max(np.abs(np.asarray(a) - np.asarray(b))))
            problems.append(f"{program}: parameter {key!r} differs (max |diff| {worst})")
    for key, (a, tol) in ref.get("stats", {}).items():
        b = got.get("stats", {}).get(key, (None, tol))[0]
        if b is None or abs(float(a) - float(b)) > tol:
            problems.append(f"{program}: statistic {key!r}: {b!r} vs torch {a!r} (tol {tol})")
    return problems


def _as_torch(value: Any, prefix: str) -> Any:
    """``value`` with printed names of the other library (``chainrule.float32``) spelt as
    torch's (``torch.float32``): dtypes print with their own module's name, by design."""
    if isinstance(value, str):
        return value.replace(prefix, "torch.")
    if isinstance(value, (list, tuple)):
        return [_as_torch(v, prefix) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b if isinstance(a, int) and isinstance(b, int) else _close(float(a), float(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b
