"""chainrule export CKPT --onnx PATH: the checkpoint's model as a checked ONNX file."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import models
from chainrule.train import save_checkpoint

from .helpers import assert_one_line_error, run_cli

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture
def checkpoint(tmp_path):
    cfg = models.model_config("cnn", [8, 8], 10, channels=[3], hidden=[6], batch_norm=True)
    cr.manual_seed(0)
    model = models.build_model(cfg)
    with cr.no_grad():
        model(cr.randn(16, 8, 8) + 1.0)          # running statistics away from 0 and 1
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, model, config={"model": cfg, "run": {"dataset": "digits"}})
    return path


def test_export_writes_a_model_that_onnx_runtime_runs(checkpoint, tmp_path, capsys):
    import onnx
    import onnxruntime as ort
    out = tmp_path / "model.onnx"
    code, stdout, err = run_cli(["export", checkpoint, "--onnx", out], capsys)
    assert code == 0, err
    assert str(out) in stdout and "batch, 8, 8" in stdout
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)

    from chainrule.cli.checkpoints import load_model
    model, _ = load_model(checkpoint)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        x = np.random.default_rng(n).standard_normal((n, 8, 8)).astype(np.float32)
        (got,) = sess.run(None, {"input": x})
        want = model(cr.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_static_batch_and_opset_into_a_new_folder(checkpoint, tmp_path, capsys):
    import onnx
    out = tmp_path / "new" / "m.onnx"      # folders are made, as for every file chainrule writes
    code, stdout, err = run_cli(["export", checkpoint, "--onnx", out, "--static-batch",
                                 "--opset", "18"], capsys)
    assert code == 0, err
    proto = onnx.load(str(out))
    assert proto.opset_import[0].version == 18
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2


@pytest.mark.parametrize("case, words", [
    ("missing", ["nowhere.safetensors"]),
    ("not_a_checkpoint", ["junk.safetensors"]),
    ("folder_out", ["is a folder"]),
    ("old_opset", ["opset_version"]),
])
def test_bad_checkpoint_or_target_is_one_line(case, words, checkpoint, tmp_path, capsys):
    ckpt, out, extra = checkpoint, tmp_path / "m.onnx", []
    if case == "missing":
        ckpt = tmp_path / "nowhere.safetensors"
    elif case == "not_a_checkpoint":
        ckpt = tmp_path / "junk.safetensors"
        ckpt.write_bytes(b"not a checkpoint at all")
    elif case == "folder_out":
        out = tmp_path
    else:
        extra = ["--opset", "9"]
    code, _, err = run_cli(["export", ckpt, "--onnx", out, *extra], capsys)
    assert_one_line_error(code, err, *words)
    assert not (tmp_path / "m.onnx").exists()


def test_export_is_listed_in_help(capsys):
    code, stdout, _ = run_cli(["--help"], capsys)
    assert code == 0 and "export" in stdout
