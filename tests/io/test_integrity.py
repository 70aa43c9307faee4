"""The checkpoint's checksum covers everything the file means: header (metadata, names,
dtypes, shapes, offsets) and data. Older (format 1) files still load, with a warning."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError, load, save

from ._content import same_content

FORMAT1 = Path(__file__).parent / "data" / "format1.safetensors"  # written by format-1 code
# format 2 as chainrule's own byte writer laid it out (tensors in name order), before the
# safetensors package wrote the files (it orders them by dtype alignment)
FORMAT2_OWN_WRITER = Path(__file__).parent / "data" / "format2_handwritten.safetensors"


def _small_state():
    return {"model": {"w": cr.tensor([[1.0, -2.0]]), "n": cr.tensor(3)},
            "optimizer": {"state": {0: {"step": 5}}, "param_groups": [{"lr": 0.001,
                                                                      "betas": (0.9, 0.999)}]},
            "epoch": 3, "hist": [{"acc": float("nan")}]}


def _header_end(raw: bytes) -> int:
    return 8 + int.from_bytes(raw[:8], "little")


def test_every_header_bit_flip_raises_or_loads_identical_content(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save(_small_state(), p)
    raw = p.read_bytes()
    original = load(p)
    end = _header_end(raw)  # the length field and the whole JSON header
    changed, raised = [], 0
    with open(p, "r+b") as f:  # flip in place: rewriting the file 5000 times is slow on ext4
        for byte in range(end):
            for bit in range(8):
                f.seek(byte)
                f.write(bytes([raw[byte] ^ (1 << bit)]))
                f.flush()
                try:
                    back = load(p)
                except CheckpointError:
                    raised += 1
                else:
                    if not same_content(back, original):
                        changed.append((byte, bit))
                f.seek(byte)
                f.write(raw[byte:byte + 1])
    assert p.read_bytes() == raw
    assert changed == [], f"{len(changed)} header bit flips loaded different content"
    assert raised > 0.9 * 8 * end  # nearly every flip changes the meaning


def test_changed_learning_rate_in_metadata_is_detected(tmp_path):
    # the audit's case: lr 0.001 -> 0.009 in the metadata loaded cleanly
    p = tmp_path / "ckpt.safetensors"
    save(_small_state(), p)
    raw = p.read_bytes()
    assert raw.count(b'"lr\\":0.001') == 1
    p.write_bytes(raw.replace(b'"lr\\":0.001', b'"lr\\":0.009'))
    with pytest.raises(CheckpointError, match="ckpt.safetensors.*header or tensor data"):
        load(p)


def test_changed_shape_with_consistent_offsets_is_detected(tmp_path):
    # a header edit that is self-consistent (shape [2, 1] instead of [1, 2]) still fails
    p = tmp_path / "ckpt.safetensors"
    save({"w": cr.tensor([[1.0, 2.0]])}, p)
    raw = p.read_bytes()
    p.write_bytes(raw.replace(b'"shape":[1,2]', b'"shape":[2,1]'))
    with pytest.raises(CheckpointError, match="checksum"):
        load(p)


def test_removed_checksum_is_not_mistaken_for_an_old_or_plain_file(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(2), "lr": 0.1}, p)
    raw = p.read_bytes()
    for key in (b'"chainrule.sha256"', b'"chainrule"'):  # rename one of the two marker keys
        p.write_bytes(raw.replace(key, key[:-2] + b'X"', 1))
        with pytest.raises(CheckpointError, match="ckpt.safetensors"):
            load(p)


def test_flipped_data_bit_is_detected(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save(_small_state(), p)
    raw = bytearray(p.read_bytes())
    raw[_header_end(raw) + 1] ^= 0x10
    p.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum"):
        load(p)


def test_format1_file_still_loads_with_a_warning():
    with pytest.warns(UserWarning, match="format 1.*save it again"):
        back = load(FORMAT1)
    assert back["optimizer"]["param_groups"][0]["lr"] == 0.001
    assert back["model"]["0.weight"].shape == (3, 2)


def test_format1_file_with_damaged_data_is_rejected(tmp_path):
    raw = bytearray(FORMAT1.read_bytes())
    raw[-2] ^= 0x01
    p = tmp_path / "old.safetensors"
    p.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="old.safetensors.*checksum"):
        load(p)


def test_resaving_a_format1_file_upgrades_it(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = load(FORMAT1)
    save(old, tmp_path / "new.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no format-1 warning for the rewritten file
        assert same_content(load(tmp_path / "new.safetensors"), old)


def test_written_files_stay_valid_safetensors(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file
    p = tmp_path / "ckpt.safetensors"
    state = _small_state()
    save(state, p)
    arrays = load_file(str(p))
    assert set(arrays) == {"model/w", "model/n"}
    assert arrays["model/n"].shape == () and arrays["model/n"].dtype == np.int64
    with safe_open(str(p), "np") as f:
        meta = f.metadata()
    assert json.loads(meta["chainrule"])["format"] == 2 and len(meta["chainrule.sha256"]) == 64
    assert _header_end(p.read_bytes()) % 8 == 0  # data aligned as the reference writer does


def test_odd_dtypes_and_byte_orders_round_trip(tmp_path):
    state = {"b": np.array([True, False]), "h": np.arange(3, dtype=np.float16),
             "be": np.arange(4, dtype=">i4"), "u": np.arange(2, dtype=np.uint64),
             "empty": np.zeros((0, 3), np.float32), "c": np.array([1 - 2j], np.complex64),
             "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "s": np.arange(8.0)[::3]}
    save(state, tmp_path / "d.safetensors")
    back = load(tmp_path / "d.safetensors")
    for k, v in state.items():
        got = back[k].numpy()
        assert got.dtype == v.dtype.newbyteorder("=") and got.shape == v.shape
        np.testing.assert_array_equal(got, v)
        assert got.flags.writeable  # a loaded tensor can be updated in place
    with pytest.raises(TypeError, match="tensor 'x'.*complex128"):
        save({"w": np.zeros(2), "x": np.zeros(2, np.complex128)}, tmp_path / "c.safetensors")
    assert not (tmp_path / "c.safetensors").exists()


def test_format2_file_from_the_earlier_writer_still_loads():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = load(FORMAT2_OWN_WRITER)
    assert back["be"].tolist() == [0, 1, 2, 3] and back["be"].dtype == np.int32
    assert back["u"].dtype == np.uint64 and back["h"].tolist() == [0.0, 1.0, 2.0]
    assert back["b"].tolist() == [True, False] and back["empty"].shape == (0, 3)
    np.testing.assert_array_equal(back["f"].numpy(), np.eye(2))


def test_missing_safetensors_package_names_the_extra(tmp_path, monkeypatch):
    save({"w": cr.ones(2)}, tmp_path / "w.safetensors")
    monkeypatch.setitem(sys.modules, "safetensors", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[io\]'"):
        save({"w": cr.ones(2)}, tmp_path / "x.safetensors")
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[io\]'"):
        load(tmp_path / "w.safetensors")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["w.safetensors"]
