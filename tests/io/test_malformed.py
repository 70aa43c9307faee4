"""Malformed or foreign files raise CheckpointError naming the file and what is wrong — never a
raw traceback (RecursionError, AttributeError, KeyError) or a misleading "truncated"."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from chainrule.io import CheckpointError, load

W = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


def _file(tmp_path, header, data=b"\0" * 8, name="bad.safetensors"):
    """A safetensors-shaped file: ``header`` is a JSON-able object or raw header bytes."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = tmp_path / name
    p.write_bytes(len(h).to_bytes(8, "little") + h + data)
    return p


# Dtypes, byte counts and offsets are checked by the safetensors package: its messages name
# the problem (and the tensor, where it gives one); the file name comes from chainrule's wrapper.
MALFORMED = [  # (header, data, what the message must say)
    (b"[" * 100_000 + b"]" * 100_000, b"", "nests too deeply"),
    ([1, 2], b"", "JSON list, not an object"),
    ({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "must have exactly the keys"),
    ({"w": [1, 2]}, b"\0" * 8, "must have exactly the keys"),
    ({"w": {**W, "dtype": "F33"}}, b"\0" * 8,
     "not a valid safetensors file.*unknown variant `F33`"),
    ({"w": {**W, "dtype": "BF16", "data_offsets": [0, 4]}}, b"\0" * 4,
     "'BF16', which is not supported by NumPy"),
    ({"w": {**W, "shape": [2, -1]}}, b"\0" * 8, "tensor 'w' has shape \\[2, -1\\]"),
    ({"w": {**W, "shape": "2"}}, b"\0" * 8, "shape '2'"),
    ({"w": {**W, "data_offsets": [8, 0]}}, b"\0" * 8, "invalid offset for tensor `w`"),
    ({"w": {**W, "data_offsets": [0, 8.0]}}, b"\0" * 8, "data_offsets \\[0, 8.0\\]"),
    ({"w": {**W, "data_offsets": [0, 12]}}, b"\0" * 12, "invalid shape, data type, or offset"),
    ({"w": {**W, "data_offsets": [0, 8]}, "v": {**W, "data_offsets": [4, 12]}}, b"\0" * 12,
     "invalid offset for tensor `v`"),
    ({"w": {**W, "data_offsets": [4, 12]}}, b"\0" * 12, "invalid offset for tensor `w`"),
    ({"w": W}, b"\0" * 12, "4 bytes after its last tensor"),
    ({"w": {**W, "data_offsets": [16, 24]}, "v": {**W, "data_offsets": [8, 16]}}, b"\0" * 24,
     "invalid offset for tensor `v`"),  # the gap is before v, the first tensor in the data
    ({"__metadata__": {"a": 1}}, b"", "__metadata__ must map strings to strings"),
    ({"__metadata__": "x"}, b"", "__metadata__ must map strings to strings"),
    (b'{"w":' + json.dumps(W).encode() + b',"w":' + json.dumps(W).encode() + b"}", b"\0" * 8,
     "the key 'w' appears twice"),
    (b'{"w":{"dtype":"F32","shape":[NaN],"data_offsets":[0,8]}}', b"\0" * 8, "not valid JSON"),
    (b'{"w\xff":1}', b"", "byte 11 is not valid UTF-8"),
    (b"{not json}", b"", "not valid JSON"),
]


@pytest.mark.parametrize("header, data, message", MALFORMED,
                         ids=[m[2][:30] for m in MALFORMED])
def test_malformed_header_raises_checkpoint_error_naming_file_and_problem(tmp_path, header, data,
                                                                         message):
    p = _file(tmp_path, header, data)
    with pytest.raises(CheckpointError, match=f"bad.safetensors.*{message}"):
        load(p)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_header_length_beyond_the_file_is_truncated(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes((500).to_bytes(8, "little") + b'{"w":1}')
    with pytest.raises(CheckpointError, match="bad.safetensors is truncated: the header says 500"):
        load(p)
    p.write_bytes((10**12).to_bytes(8, "little") + b'{"w":1}')
    with pytest.raises(CheckpointError, match="bad.safetensors.*header length field says"):
        load(p)


def test_truncated_data_is_reported_as_truncated(tmp_path):
    p = _file(tmp_path, {"w": W}, b"\0" * 5)
    with pytest.raises(CheckpointError, match="bad.safetensors is truncated: its tensors need 8"):
        load(p)


def _no_unsafe_advice(message: str) -> None:
    assert "truncated" not in message
    for unsafe in ("weights_only=False", "pickle.load", "allow_pickle=True"):
        assert unsafe not in message


def test_pickle_file_is_named_as_a_pickle_not_truncated(tmp_path):
    p = tmp_path / "model.pt"
    p.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    with pytest.raises(CheckpointError, match="model.pt is not a safetensors.*looks like a pickle") \
            as info:
        load(p)
    _no_unsafe_advice(str(info.value))


def test_torch_save_zip_file_is_named_as_pytorch(tmp_path):
    import torch
    p = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, p)
    with pytest.raises(CheckpointError, match="model.pt is not a safetensors.*PyTorch") as info:
        load(p)
    _no_unsafe_advice(str(info.value))


@pytest.mark.parametrize("text", ['{\n  "accuracy": 0.91,\n  "loss": 0.3\n}\n', "[1]", "{}"])
def test_metrics_json_is_named_as_json(tmp_path, text):
    p = tmp_path / "metrics.json"
    p.write_text(text)
    with pytest.raises(CheckpointError, match="metrics.json is not a safetensors.*looks like "
                                              "a JSON document") as info:
        load(p)
    _no_unsafe_advice(str(info.value))


def test_npy_and_text_files_are_named(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.zeros(3))
    with pytest.raises(CheckpointError, match="a.npy is not a safetensors.*NumPy .npy"):
        load(p)
    p = tmp_path / "notes.txt"
    p.write_text("epoch 1 loss 0.5\n" * 3)
    with pytest.raises(CheckpointError, match="notes.txt is not a safetensors.*text file"):
        load(p)


def test_cli_reports_malformed_checkpoint_in_one_line(tmp_path, capsys):
    from chainrule.cli import main
    p = _file(tmp_path, {"w": {"dtype": "F32", "shape": [2]}}, name="model.safetensors")
    code = main(["evaluate", str(p)])
    err = capsys.readouterr().err
    assert code == 2 and "model.safetensors" in err and "data_offsets" in err
    assert "must have exactly the keys" in err and "Traceback" not in err


def test_empty_file_is_called_empty(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"")
    with pytest.raises(CheckpointError, match="bad.safetensors is empty"):
        load(p)


@pytest.mark.parametrize("doc, message", [
    ({"format": 7, "tree": {}}, "newer chainrule"),
    ({"format": 0, "tree": {}}, "unknown checkpoint format 0"),
    ({"format": True, "tree": {}}, "not a chainrule document"),
    ({"format": 2}, "not a chainrule document"),
    ({"format": 2, "tree": {}}, "'chainrule.sha256' checksum and it is missing"),
])
def test_bad_chainrule_document_is_named(tmp_path, doc, message):
    p = _file(tmp_path, {"__metadata__": {"chainrule": json.dumps(doc)}}, b"")
    with pytest.raises(CheckpointError, match=f"bad.safetensors.*{message}"):
        load(p)


def test_large_json_file_is_named_as_json(tmp_path):
    p = tmp_path / "metrics.json"
    p.write_text(json.dumps({"history": [{"loss": 0.5, "epoch": i} for i in range(2000)]}))
    with pytest.raises(CheckpointError, match="metrics.json is not a safetensors.*JSON document"):
        load(p)
