"""The CUDA col2im kernel's body (chainrule._cuda_kernels.conv), compiled here as plain C with
the host compiler and run over every element, against the CPU convolution's input gradient:
the index arithmetic (strides, dilation, padding, 1-3 spatial dims) is checked without a GPU.
Skips when no C compiler is found or the module's source cannot be read."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

SRC = Path(__file__).resolve().parents[2] / "src" / "chainrule" / "_cuda_kernels" / "conv.py"
NAMES = ("C", "P0", "P1", "P2", "K0", "K1", "K2", "S0", "S1", "S2", "D0", "D1", "D2", "O0",
         "O1", "O2")


@pytest.fixture(scope="module")
def col2im(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the CUDA kernel body on the host")
    body = re.search(r'_COL2IM = r"""(.*?)"""', SRC.read_text(), re.S).group(1)
    args = ", ".join(f"int {n}" for n in NAMES)
    c_src = (f"typedef double T;\nvoid col2im(const T* cols, T* out, long long count, {args})"
             f" {{\n  for (long long i = 0; i < count; ++i) {{\n    T acc;\n{body}\n"
             "    out[i] = acc;\n  }\n}\n")
    d = tmp_path_factory.mktemp("col2im")
    (d / "k.c").write_text(c_src)
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(d / "k.so"), str(d / "k.c")],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(d / "k.so"))
    lib.col2im.restype = None
    lib.col2im.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_longlong] + \
        [ctypes.c_int] * len(NAMES)
    return lib.col2im


def _three(v, fill=1):
    return (fill,) * (3 - len(v)) + tuple(v)


@pytest.mark.parametrize("spatial,kernel,stride,dilation,pad", [
    ((9,), (3,), (1,), (1,), (1,)),
    ((11,), (5,), (2,), (1,), (2,)),
    ((7, 6), (3, 2), (2, 1), (1, 2), (1, 0)),
    ((5, 5, 4), (2, 3, 2), (1, 2, 1), (2, 1, 1), (0, 1, 1)),
])
def test_col2im_body_gives_the_conv_input_gradient(col2im, spatial, kernel, stride, dilation,
                                                   pad):
    rng = np.random.default_rng(0)
    n, c, o = 2, 3, 4
    x = torch.tensor(rng.standard_normal((n, c) + spatial), requires_grad=True)
    w = torch.tensor(rng.standard_normal((o, c) + kernel))
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
            3: torch.nn.functional.conv3d}[len(spatial)]
    z = conv(x, w, stride=stride, padding=pad, dilation=dilation)
    g = rng.standard_normal(z.shape)
    z.backward(torch.tensor(g))
    out = z.shape[2:]
    nd = len(spatial)
    # the GPU path: gmo (N·L, O) @ W as (O, K·C) gives rows (N, *out, *k, C), then col2im
    gmo = g.reshape(n, o, -1).transpose(0, 2, 1).reshape(-1, o)
    wt = w.numpy().transpose((0,) + tuple(range(2, 2 + nd)) + (1,)).reshape(o, -1)
    cols = np.ascontiguousarray(gmo @ wt)
    padded = tuple(s + 2 * p for s, p in zip(spatial, pad))
    acc = np.empty((n,) + padded + (c,))
    col2im(cols.ctypes.data, acc.ctypes.data, acc.size, c, *_three(padded), *_three(kernel),
           *_three(stride), *_three(dilation), *_three(out))
    inner = tuple(slice(p, p + s) for s, p in zip(spatial, pad))
    gx = acc[(slice(None),) + inner].transpose((0, nd + 1) + tuple(range(1, nd + 1)))
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-12, atol=1e-12)
