"""Atomic writes: the mode open() would give, stale temporaries of killed writers removed,
the directory synced after the rename, write errors that name the file."""
from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.io import atomic_open, load, save, write_bytes, write_text

SRC = str(Path(cr.__file__).resolve().parents[1])
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_(mask):
        os.umask(mask)
    yield set_
    os.umask(old)


@posix
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_new_files_get_the_umask_mode(tmp_path, umask, mask):
    umask(mask)
    save({"w": cr.ones(2)}, tmp_path / "c.safetensors")
    write_text(tmp_path / "m.json", "{}")
    write_bytes(tmp_path / "b.bin", b"x")
    for name in ("c.safetensors", "m.json", "b.bin"):
        assert _mode(tmp_path / name) == 0o666 & ~mask, name


@posix
def test_files_written_outside_io_get_the_umask_mode_too(tmp_path, umask):
    import numpy as np
    from chainrule.data.idx import write_idx
    umask(0o022)
    write_idx(tmp_path / "x.idx", np.zeros((2, 3), np.uint8))
    write_idx(tmp_path / "x.idx.gz", np.zeros(4, np.uint8))
    assert _mode(tmp_path / "x.idx") == _mode(tmp_path / "x.idx.gz") == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.idx", "x.idx.gz"]


@posix
def test_replacing_a_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "c.safetensors"
    save({"w": cr.ones(2)}, p)
    os.chmod(p, 0o600)  # the user made it private: a rewrite must not widen that
    save({"w": cr.zeros(2)}, p)
    assert _mode(p) == 0o600 and load(p)["w"].tolist() == [0.0, 0.0]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@posix
def test_kill_9_mid_write_leaves_a_temporary_the_next_save_removes(tmp_path):
    target = tmp_path / "model.safetensors"
    save({"w": cr.ones(2)}, target)
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {SRC!r})
        from chainrule.io import atomic_open
        with atomic_open({str(target)!r}) as f:
            f.write(b"half a checkpoint")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", code]).returncode == -9
    orphans = [p.name for p in tmp_path.iterdir() if p.name != "model.safetensors"]
    assert len(orphans) == 1 and orphans[0].startswith(".model.safetensors.")
    assert load(target)["w"].tolist() == [1.0, 1.0]  # the good file is untouched
    save({"w": cr.zeros(2)}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


@posix
def test_only_stale_temporaries_of_this_target_are_removed(tmp_path):
    from chainrule.io.stale import UNATTRIBUTED_STALE_AFTER_S, host_tag
    target = tmp_path / "model.safetensors"
    host = host_tag()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".model.safetensors.{host}.{_dead_pid()}.0123abcd.tmp",
            "live": f".model.safetensors.{host}.{live.pid}.0123abcd.tmp",
            "self": f".model.safetensors.{host}.{os.getpid()}.0123abcd.tmp",
            "other_host_new": f".model.safetensors.elsewhere.{_dead_pid()}.0123abcd.tmp",
            "other_host_old": f".model.safetensors.elsewhere.1.0123abcd.tmp",
            "legacy_old": ".model.safetensors.ab_c12xy.tmp",
            "legacy_new": ".model.safetensors.zz_c12xy.tmp",
            "other_target": f".other.safetensors.{host}.{_dead_pid()}.0123abcd.tmp",
            "user_file": ".model.safetensors.notes.tmp",
        }
        for key, name in names.items():
            (tmp_path / name).write_bytes(b"partial")
        old = time.time() - UNATTRIBUTED_STALE_AFTER_S - 60
        for key in ("other_host_old", "legacy_old", "user_file"):
            os.utime(tmp_path / names[key], (old, old))
        save({"w": cr.ones(2)}, target)
        left = {key for key, name in names.items() if (tmp_path / name).exists()}
    finally:
        live.kill()
        live.wait()
    assert left == {"live", "self", "other_host_new", "legacy_new", "other_target", "user_file"}


@posix
def test_directory_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        st = os.fstat(fd)
        synced.append(("dir" if stat.S_ISDIR(st.st_mode) else "file",
                       (tmp_path / "c.safetensors").exists()))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", spy)
    save({"w": cr.ones(2)}, tmp_path / "c.safetensors")
    assert synced == [("file", False), ("dir", True)]  # data before the rename, name after


def test_disk_full_on_sync_names_the_path_and_leaves_no_temporary(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(2)}, p)
    good = p.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left on device while writing a checkpoint "
                                      r"\(1 tensor, 8 bytes of data\) to .*ckpt.safetensors") as info:
        save({"w": cr.zeros(2)}, p)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert p.read_bytes() == good
    assert [q.name for q in tmp_path.iterdir()] == ["ckpt.safetensors"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_while_writing_names_the_path(tmp_path):
    p = tmp_path / "metrics.csv"
    with pytest.raises(OSError, match="while writing metrics to .*metrics.csv") as info:
        with atomic_open(p, "wb", what="metrics") as f:
            with open("/dev/full", "wb", buffering=0) as full:
                full.write(b"x")  # a real ENOSPC raised by a write (no file name attached)
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_errors_naming_another_file_pass_through_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        with atomic_open(tmp_path / "out.bin") as f:
            open(tmp_path / "missing-input")
    assert info.value.filename == str(tmp_path / "missing-input")
    assert list(tmp_path.iterdir()) == []


def test_text_is_written_as_utf8(tmp_path):
    write_text(tmp_path / "t.csv", "loss,μ\n")
    assert (tmp_path / "t.csv").read_bytes() == "loss,μ\n".encode("utf-8")
