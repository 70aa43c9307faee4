"""CuPy counterparts of the convolution's NumPy-only pieces: strided window views and col2im.

``col2im_rows`` is the adjoint of channels-last im2col in one kernel: every element of the padded
input gathers the column entries that read it (a loop over the kernel offsets whose stride
arithmetic lands on it), so no atomics are needed and the result is bitwise reproducible. The
convolution's input gradient is then one cuBLAS GEMM (G·W, all offsets at once) plus this
kernel, where the CPU path runs one GEMM and one strided add per kernel offset.
"""
from __future__ import annotations

import cupy
from cupy.lib.stride_tricks import as_strided as _as_strided

from ._compile import elementwise

__all__ = ["as_strided", "col2im_rows"]


def as_strided(x, shape, strides, writeable: bool = True):
    """A strided view of a CuPy array (CuPy's views have no read-only flag; callers only read)."""
    return _as_strided(x, shape=tuple(shape), strides=tuple(strides))


_COL2IM = r"""
long long t = i;
const int c = t % C; t /= C;
const int p2 = t % P2; t /= P2;
const int p1 = t % P1; t /= P1;
const int p0 = t % P0;
const long long n = t / P0;
const long long row_len = (long long)K0 * K1 * K2 * C;
T total = 0;
for (int k0 = 0; k0 < K0; ++k0) {
  const int q0 = p0 - k0 * D0;
  if (q0 < 0 || q0 % S0) continue;
  const int o0 = q0 / S0;
  if (o0 >= O0) continue;
  for (int k1 = 0; k1 < K1; ++k1) {
    const int q1 = p1 - k1 * D1;
    if (q1 < 0 || q1 % S1) continue;
    const int o1 = q1 / S1;
    if (o1 >= O1) continue;
    for (int k2 = 0; k2 < K2; ++k2) {
      const int q2 = p2 - k2 * D2;
      if (q2 < 0 || q2 % S2) continue;
      const int o2 = q2 / S2;
      if (o2 >= O2) continue;
      const long long r = ((n * O0 + o0) * O1 + o1) * O2 + o2;
      total += cols[r * row_len + ((long long)(k0 * K1 + k1) * K2 + k2) * C + c];
    }
  }
}
acc = total;
"""

_GEOMETRY = ", ".join(f"int32 {name}" for name in (
    "C", "P0", "P1", "P2", "K0", "K1", "K2", "S0", "S1", "S2", "D0", "D1", "D2", "O0", "O1",
    "O2"))


def _three(values, fill: int) -> tuple:
    """Up to three spatial sizes, padded in front with ``fill`` to exactly three."""
    values = tuple(int(v) for v in values)
    return (fill,) * (3 - len(values)) + values


def col2im_rows(cols, n: int, padded, kernel, stride, dilation, out, c: int):
    """rows (N·L, K·C) laid out (n, *o) × (*κ, c)  →  (N, *padded, C): every padded position
    receives the sum of the entries that read it. 1-, 2- and 3-d convolutions."""
    if len(kernel) > 3:
        raise NotImplementedError("conv on CUDA: more than 3 spatial dimensions")
    acc = cupy.empty((n,) + tuple(padded) + (c,), dtype=cols.dtype)
    kernel_fn = elementwise("raw T cols, " + _GEOMETRY, "T acc", _COL2IM, "cr_col2im_rows")
    kernel_fn(cupy.ascontiguousarray(cols), c, *_three(padded, 1), *_three(kernel, 1),
              *_three(stride, 1), *_three(dilation, 1), *_three(out, 1), acc)
    return acc
