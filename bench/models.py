"""The suite's models and data, written once for both libraries.

``library(name)`` returns a small namespace (``nn``, ``F``, ``optim``, ``from_numpy``,
``no_grad``) over chainrule or PyTorch, so each architecture below is one function that builds
the same layers in either library, with the same ``state_dict`` keys. Initial weights come from
NumPy (``init_state``): every tensor is drawn from U(−1/√fan_in, 1/√fan_in) (PyTorch's default
scale) with a generator seeded by the suite's seed and the tensor's key, so both libraries start
from identical weights. Data is synthetic (workloads A, B, D: MNIST-shaped pixels in [0, 1) and
random labels) or MNIST-1D read with ``np.load(..., allow_pickle=False)`` (workload E).
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MNIST1D_FILE = "mnist1d/mnist1d_5000.npz"


def library(name: str, threads: int | None = None) -> SimpleNamespace:
    """chainrule or PyTorch behind one set of names; PyTorch gets ``threads`` (default: every
    CPU, as issue #9 specifies) intra-op threads."""
    if name == "torch":
        import torch
        torch.set_num_threads(threads or os.cpu_count())
        return SimpleNamespace(name="torch", mod=torch, nn=torch.nn, F=torch.nn.functional,
                               optim=torch.optim, from_numpy=torch.from_numpy,
                               no_grad=torch.no_grad)
    if name == "chainrule":
        import chainrule
        return SimpleNamespace(name="chainrule", mod=chainrule, nn=chainrule.nn,
                               F=chainrule.nn.functional, optim=chainrule.optim,
                               from_numpy=chainrule.from_numpy, no_grad=chainrule.no_grad)
    raise ValueError(f"bench: unknown library {name!r} (chainrule or torch)")


# -- architectures (issue #9) ----------------------------------------------------------------------
def mlp(L):
    """A: 784-512-512-10 with ReLU (softmax cross-entropy in the loss)."""
    nn = L.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def cnn2d(L):
    """B: conv 5×5 1→16, ReLU, max-pool 2, conv 5×5 16→32, ReLU, max-pool 2, linear → 10 on
    1×28×28 (no padding: 28 → 24 → 12 → 8 → 4, so the linear layer is 32·4·4 = 512 → 10)."""
    nn = L.nn
    return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(512, 10))


def cnn1d(L):
    """E: the MNIST-1D paper's CNN (#8) on (N, 1, 40): Conv1d(1, 25, 5, 2, 1), Conv1d(25, 25, 3,
    2, 1), Conv1d(25, 25, 3, 2, 1), ReLU after each (40 → 19 → 10 → 5), Linear(125, 10)."""
    nn = L.nn
    return nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
                         nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(125, 10))


ARCHITECTURES = {"mlp": mlp, "cnn2d": cnn2d, "cnn1d": cnn1d}

#: A's layer sizes, for the roofline (F): FLOPs per step = 6 · batch · Σ in·out
MLP_LAYERS = ((784, 512), (512, 512), (512, 10))


def init_state(model, seed: int) -> dict:
    """NumPy initial weights for ``model``'s state dict: U(−b, b), b = 1/√fan_in, where fan_in
    is the product of a weight's dimensions after the first (a bias uses its weight's)."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = {}
    for key, shape in shapes.items():
        wkey = key.rsplit(".", 1)[0] + ".weight"
        wshape = shapes.get(wkey, shape)
        fan_in = int(np.prod(wshape[1:])) if len(wshape) > 1 else wshape[0]
        bound = 1.0 / np.sqrt(fan_in)
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        state[key] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return state


def build(L, arch: str, seed: int):
    """The architecture in library ``L`` with the suite's NumPy initial weights."""
    model = ARCHITECTURES[arch](L)
    state = init_state(model, seed)
    model.load_state_dict({k: L.from_numpy(v) for k, v in state.items()})
    return model


# -- data ------------------------------------------------------------------------------------------
def synthetic_batches(shape: tuple, batch: int, count: int, seed: int) -> list:
    """``count`` batches of MNIST-like inputs (float32 in [0, 1), ``shape`` per item) and int64
    labels in 0..9, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    return [(rng.random((batch,) + shape, dtype=np.float32),
             rng.integers(0, 10, batch, dtype=np.int64)) for _ in range(count)]


def data_dir() -> Path:
    """$CHAINRULE_DATA, else ../shared/datasets beside the repository (as the tests use)."""
    env = os.environ.get("CHAINRULE_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def mnist1d_arrays() -> dict:
    """MNIST-1D (train 4,000 and test 1,000 signals of 40 samples) as float32 (N, 1, 40) inputs
    and int64 labels; FileNotFoundError names the path when the shared file is absent."""
    path = data_dir() / MNIST1D_FILE
    if not path.is_file():
        raise FileNotFoundError(f"MNIST-1D not found at {path} (set CHAINRULE_DATA)")
    with np.load(path, allow_pickle=False) as f:
        return {"x": f["x"].astype(np.float32)[:, None, :], "y": f["y"].astype(np.int64),
                "x_test": f["x_test"].astype(np.float32)[:, None, :],
                "y_test": f["y_test"].astype(np.int64)}
