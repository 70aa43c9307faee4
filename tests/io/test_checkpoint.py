"""Checkpoints: safetensors + JSON metadata, atomic, with clear errors for damaged files."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError, atomic_open, load, save


def _state():
    return {
        "model": {"0.weight": cr.randn(3, 2), "0.bias": cr.zeros(3),
                  "bn.num_batches_tracked": cr.tensor(7)},
        "optimizer": {"state": {0: {"step": 5, "exp_avg": np.ones(3, np.float32)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1]}]},
        "epoch": 3, "history": [{"loss": 0.5, "acc": float("nan")}], "rng": cr.get_rng_state(),
        "config": {"model": "mlp", "hidden": [64, 32]},
    }


def test_nested_round_trip(tmp_path):
    state = _state()
    save(state, tmp_path / "ckpt.safetensors")
    back = load(tmp_path / "ckpt.safetensors")
    np.testing.assert_array_equal(back["model"]["0.weight"].numpy(), state["model"]["0.weight"].numpy())
    assert back["model"]["0.weight"].dtype == np.float32
    assert back["model"]["bn.num_batches_tracked"].dtype == np.int64
    assert back["optimizer"]["state"][0]["step"] == 5            # int keys survive
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples survive
    assert back["epoch"] == 3 and np.isnan(back["history"][0]["acc"])
    assert back["rng"] == state["rng"] and back["config"] == state["config"]


def test_zero_dim_and_non_contiguous_tensors_keep_their_shape(tmp_path):
    state = {"count": cr.tensor(7), "scalar": cr.tensor(2.5), "t": cr.randn(3, 4).T}
    save(state, tmp_path / "s.safetensors")
    back = load(tmp_path / "s.safetensors")
    assert back["count"].shape == () and back["count"].item() == 7
    assert back["scalar"].shape == () and back["scalar"].item() == 2.5
    np.testing.assert_array_equal(back["t"].numpy(), state["t"].numpy())


def test_flat_state_dict_keeps_pytorch_key_names(tmp_path):
    from safetensors.torch import load_file
    sd = {"0.weight": cr.randn(3, 2), "0.bias": cr.randn(3)}
    save(sd, tmp_path / "m.safetensors")
    tsd = load_file(str(tmp_path / "m.safetensors"))
    assert set(tsd) == {"0.weight", "0.bias"}
    np.testing.assert_array_equal(tsd["0.weight"].numpy(), sd["0.weight"].numpy())


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    import torch
    from safetensors.torch import save_file
    save_file({"w": torch.ones(2)}, str(tmp_path / "t.safetensors"))
    assert load(tmp_path / "t.safetensors")["w"].tolist() == [1.0, 1.0]


def test_truncated_checkpoint_is_reported_with_its_name(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save(_state(), p)
    raw = p.read_bytes()
    for cut in (4, 20, len(raw) - 10):
        p.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match="ckpt.safetensors.*truncated|ckpt.safetensors.*corrupt"):
            load(p)


def test_flipped_data_byte_is_detected(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save(_state(), p)
    raw = bytearray(p.read_bytes())
    raw[-3] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum"):
        load(p)


def test_garbage_and_missing_files(tmp_path):
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load(p)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load(tmp_path / "missing.safetensors")


def test_failed_write_leaves_previous_good_file_intact(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(2)}, p)
    good = p.read_bytes()
    with pytest.raises(TypeError):
        save({"w": cr.ones(2), "bad": object()}, p)
    with pytest.raises(RuntimeError):
        with atomic_open(p) as f:
            f.write(b"partial")
            raise RuntimeError("crash mid-write")
    assert p.read_bytes() == good
    assert [q.name for q in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temp files left


def test_top_level_save_and_load(tmp_path):
    cr.save({"x": cr.arange(3)}, tmp_path / "x.safetensors")
    assert cr.load(tmp_path / "x.safetensors")["x"].tolist() == [0, 1, 2]


def test_dicts_using_the_trees_marker_keys_round_trip(tmp_path):
    # {"__items__": ...} once read back as a dict of pairs, {"__tensor__": ...} as a tensor
    state = {"cfg": {"__items__": [[1, 2]]}, "odd": {"__tensor__": "w", "x": 1},
             "t": {"__tuple__": [1, 2]}, "w": cr.ones(2)}
    save(state, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    assert back["cfg"] == {"__items__": [[1, 2]]} and back["t"] == {"__tuple__": [1, 2]}
    assert back["odd"] == {"__tensor__": "w", "x": 1} and back["w"].tolist() == [1.0, 1.0]


def test_tensor_as_dict_key_is_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="dict key"):
        save({cr.ones(1): 1}, tmp_path / "k.safetensors")
    assert list(tmp_path.iterdir()) == []
