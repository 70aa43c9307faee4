"""MemmapDataset: IDX and .npy files read batch by batch; bad files; bounded resident memory."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from chainrule.data import (DataError, DataLoader, MemmapDataset, ToFloat, open_memmap,
                            write_idx)


def _files(tmp_path, n=50):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 4, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    return x, y


@pytest.mark.parametrize("fmt", ["idx", "npy"])
def test_memmap_matches_in_memory(tmp_path, fmt):
    x, y = _files(tmp_path)
    if fmt == "idx":
        xp, yp = write_idx(tmp_path / "x.idx", x), write_idx(tmp_path / "y.idx", y)
    else:
        xp, yp = tmp_path / "x.npy", tmp_path / "y.npy"
        np.save(xp, x), np.save(yp, y)
    ds = MemmapDataset(xp, yp, transform=ToFloat(), num_classes=10)
    assert len(ds) == 50 and ds.batchable
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=1)
    order = np.random.default_rng(1).permutation(50)
    for b, (xb, yb) in enumerate(loader):
        idx = order[b * 8:(b + 1) * 8]
        np.testing.assert_array_equal(xb.numpy(), x[idx].astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(yb.numpy(), y[idx])
        assert yb.numpy().dtype == np.int64 and type(xb.numpy()) is np.ndarray
    xi, yi = ds[3]
    assert xi.shape == (4, 3) and yi == y[3]


def test_big_endian_idx_and_fortran_npy(tmp_path):
    v = np.arange(12, dtype=np.float32).reshape(4, 3) - 5.5
    arr = open_memmap(write_idx(tmp_path / "f.idx", v))
    assert arr.dtype == np.dtype(">f4")
    ds = MemmapDataset(tmp_path / "f.idx", targets=np.arange(4))
    xb, yb = ds.get_batch(np.array([3, 1]))
    assert xb.dtype.isnative and np.array_equal(xb, v[[3, 1]])
    np.save(tmp_path / "f.npy", np.asfortranarray(v))
    np.testing.assert_array_equal(MemmapDataset(tmp_path / "f.npy").get_batch([2, 0])[0],
                                  v[[2, 0]])


def test_bad_files(tmp_path):
    x, y = _files(tmp_path)
    gz = write_idx(tmp_path / "x.idx.gz", x)
    with pytest.raises(DataError, match=r"x\.idx\.gz: a gzip-compressed file cannot be "
                                        r"memory-mapped"):
        MemmapDataset(gz)
    bad = tmp_path / "magic"
    bad.write_bytes(b"\x12\x34\x56\x78" + bytes(10))
    with pytest.raises(DataError, match="wrong magic number 0x12345678"):
        MemmapDataset(bad)
    raw = write_idx(tmp_path / "x.idx", x).read_bytes()
    cut = tmp_path / "cut.idx"
    cut.write_bytes(raw[:-7])
    with pytest.raises(DataError, match=r"cut\.idx: truncated file.*600 data bytes, found 593"):
        MemmapDataset(cut)
    np.save(tmp_path / "x.npy", x)
    npy = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(npy[:-1])
    with pytest.raises(DataError, match=r"cut\.npy: truncated file"):
        MemmapDataset(tmp_path / "cut.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        MemmapDataset(tmp_path / "obj.npy")
    with pytest.raises(DataError, match=r"different lengths: 50 inputs but 49 targets"):
        MemmapDataset(tmp_path / "x.npy", y[:49])


def test_nan_and_labels_checked_per_batch(tmp_path):
    v = np.zeros((20, 3), np.float32)
    v[13, 2] = np.nan
    np.save(tmp_path / "v.npy", v)
    y = np.zeros(20, np.int64)
    y[4] = 11
    np.save(tmp_path / "y.npy", y)
    ds = MemmapDataset(tmp_path / "v.npy", tmp_path / "y.npy", num_classes=10)
    ds.get_batch(np.arange(0, 4))
    with pytest.raises(DataError, match=r"v\.npy: NaN in inputs \(1 item\(s\), first at item 13\)"):
        ds.get_batch(np.array([0, 13]))
    with pytest.raises(DataError, match=r"y\.npy: labels out of range: label 11 at item 4"):
        ds.get_batch(np.array([9, 4]))
    w = np.zeros((20, 3), np.float32)
    w[17, 1] = -np.inf
    np.save(tmp_path / "w.npy", w)
    inf_ds = MemmapDataset(tmp_path / "w.npy")
    with pytest.raises(DataError, match=r"w\.npy: -inf in inputs \(1 item\(s\), first at item "
                                        r"17\): inputs\[17, 1\] = -inf"):
        inf_ds.get_batch(np.array([3, 17, 5]))


# Peak RSS of the child. ru_maxrss cannot be used directly: Linux carries the parent's
# high-water mark into a forked child across exec, so a child of a big pytest process would
# start with the parent's peak. VmHWM belongs to the new process image and starts fresh;
# ru_maxrss is the fallback where /proc is missing.
_RSS_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from chainrule.data import DataLoader, MemmapDataset, ToFloat

    def peak():
        try:
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    ds = MemmapDataset(sys.argv[1], transform=ToFloat())
    loader = DataLoader(ds, batch_size=int(sys.argv[2]), shuffle=sys.argv[3] == "1", generator=0)
    before = peak()
    seen, total = 0, 0.0
    for (x,) in loader:
        seen += len(x)
        total += float(x.numpy()[:, 0, 0].sum())
    print(seen, before, peak())
""")


def _stream_peak(tmp_path, rows: int, batch: int, shuffle: bool) -> tuple[int, int, int]:
    path = tmp_path / "big.npy"
    with open(path, "wb") as f:  # written in chunks, so this process stays small too
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|u1", "fortran_order": False, "shape": (rows, 32, 32)})
        for i in range(0, rows, 4096):
            f.write(np.full((min(4096, rows - i), 32, 32), (i // 4096) % 251, np.uint8).data)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path), str(batch),
                          "1" if shuffle else "0"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    seen, before, after = map(int, res.stdout.split())
    assert seen == rows
    return os.path.getsize(path), before * 1024, after * 1024  # both in KiB on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and madvise are Linux's")
def test_streaming_keeps_resident_memory_small(tmp_path):
    """A 48 MiB file streamed in batches grows the process's peak RSS by far less than that."""
    size, before, after = _stream_peak(tmp_path, rows=48 * 1024, batch=256, shuffle=True)
    assert size > 48 * 2**20
    assert after - before < size / 4, (size, before, after)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and madvise are Linux's")
@pytest.mark.parametrize("shuffle", [False, True])
def test_streaming_a_200mb_file(tmp_path, shuffle):
    size, before, after = _stream_peak(tmp_path, rows=200 * 1024, batch=512, shuffle=shuffle)
    assert size > 200 * 2**20
    assert after < size / 2, (size, before, after)
    assert after - before < 64 * 2**20, (size, before, after)
