"""Verified downloads against a loopback HTTP server: good, truncated, corrupted and missing
files; mirrors tried in turn; a good cached file never replaced by a bad download."""
from __future__ import annotations

import hashlib
import http.server
import threading

import numpy as np
import pytest

from chainrule.data import DataError, download, write_idx
from chainrule.data.datasets import mnist, mnist_t10k
from chainrule.data.datasets import _mnist as mnist_module

PAYLOAD = bytes(range(256)) * 400  # 100 KiB
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    log: list = []

    def do_GET(self):  # noqa: N802
        self.log.append(self.path)
        mode, _, name = self.path.strip("/").partition("/")
        body = self.files.get(name)
        if body is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "corrupt":
            body = bytearray(body)
            body[len(body) // 3] ^= 0x55
            body = bytes(body)
        elif mode == "short":  # a consistent but incomplete response: only the md5 catches it
            body = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncated":  # promises everything, sends half, hangs up
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Handler,), {"files": {"file.bin": PAYLOAD}, "log": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]  # hidden temporaries


def test_good_download_is_cached_and_verified(server, tmp_path, monkeypatch):
    base, handler = server
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))
    from chainrule.data import cache_dir
    dest = cache_dir("demo", "file.bin")
    assert dest == tmp_path / "cache" / "demo" / "file.bin"
    assert download([f"{base}/good/file.bin"], dest, MD5) == dest
    assert dest.read_bytes() == PAYLOAD
    assert download([f"{base}/good/file.bin"], dest, MD5) == dest  # cached: no second request
    assert handler.log == ["/good/file.bin"]
    assert _leftovers(dest.parent) == []


@pytest.mark.parametrize("bad", ["truncated", "corrupt", "short", "missing"])
def test_bad_mirror_then_next_mirror(server, tmp_path, bad):
    base, handler = server
    dest = tmp_path / "file.bin"
    download([f"{base}/{bad}/file.bin", f"{base}/good/file.bin"], dest, MD5)
    assert dest.read_bytes() == PAYLOAD
    assert handler.log == [f"/{bad}/file.bin", "/good/file.bin"]
    assert _leftovers(tmp_path) == []


def test_every_mirror_bad_is_a_clear_error(server, tmp_path):
    base, _ = server
    dest = tmp_path / "file.bin"
    urls = [f"{base}/{m}/file.bin" for m in ("truncated", "corrupt", "short", "missing")]
    with pytest.raises(DataError) as e:
        download(urls, dest, MD5)
    msg = str(e.value)
    assert msg.startswith(f"{dest}: download failed from every mirror")
    assert "truncated download" in msg and "checksum mismatch" in msg and "404" in msg
    assert msg.count("checksum mismatch") == 2  # corrupt and short
    assert all(u in msg for u in urls)
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_bad_download_never_replaces_a_good_cached_file(server, tmp_path):
    base, _ = server
    dest = tmp_path / "file.bin"
    download([f"{base}/good/file.bin"], dest, MD5)
    before = dest.stat().st_mtime_ns
    with pytest.raises(DataError, match="download failed from every mirror"):
        download([f"{base}/truncated/file.bin", f"{base}/corrupt/file.bin"], dest, MD5,
                 force=True)
    assert dest.read_bytes() == PAYLOAD and dest.stat().st_mtime_ns == before
    assert _leftovers(tmp_path) == []


def test_corrupt_cached_file_is_fetched_again(server, tmp_path):
    base, handler = server
    dest = tmp_path / "file.bin"
    dest.write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(DataError, match="cached copy has md5"):
        download([f"{base}/corrupt/file.bin"], dest, MD5)
    assert dest.read_bytes() == PAYLOAD[:-1] + b"!"  # still the old file: nothing good came
    download([f"{base}/good/file.bin"], dest, MD5)
    assert dest.read_bytes() == PAYLOAD


def test_mnist_t10k_downloads_the_real_files_and_verifies_them(server, datasets, tmp_path,
                                                               monkeypatch):
    """The MNIST loader end to end: the real test files (published md5) served on loopback,
    behind a mirror that serves them corrupted."""
    base, handler = server
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        handler.files[name] = (datasets / "mnist" / name).read_bytes()
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    splits = mnist_t10k(mirrors=[f"{base}/corrupt", f"{base}/good/"], verbose=False)
    assert len(splits.train) == 8000 and len(splits.test) == 2000
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert handler.log.count("/corrupt/t10k-images-idx3-ubyte.gz") == 1
    handler.log.clear()
    mnist_t10k(mirrors=[f"{base}/good"], verbose=False)
    assert handler.log == []  # served from the verified cache


def test_mnist_downloads_train_and_test(server, tmp_path, monkeypatch):
    """mnist() fetches all four files; digests patched to those of small stand-in files."""
    base, handler = server
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    parts = {"train_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
             "train_labels": rng.integers(0, 10, 12).astype(np.uint8),
             "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             "test_labels": rng.integers(0, 10, 5).astype(np.uint8)}
    for part, arr in parts.items():
        name = mnist_module.FILES[part]
        blob = write_idx(src / name, arr).read_bytes()
        handler.files[name] = blob
        monkeypatch.setitem(mnist_module.MD5["mnist"], part, hashlib.md5(blob).hexdigest())
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte.gz"):
        mnist(download=False)
    train, test = mnist(mirrors=[f"{base}/truncated", f"{base}/good"], verbose=False)
    np.testing.assert_array_equal(train.inputs, parts["train_images"])
    np.testing.assert_array_equal(test.targets, parts["test_labels"])
    assert mnist_module.has_train_files()
