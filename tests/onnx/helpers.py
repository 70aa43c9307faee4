"""Exporting a model, loading it back, and running it in ONNX Runtime next to chainrule."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr


def export_and_check(model, example: np.ndarray, path: Path, **kw):
    """Export, reload from disk and run the full checker; returns the loaded ModelProto."""
    import onnx
    cr.onnx.export(model, cr.tensor(example), path, **kw)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def session(path: Path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3       # ORT's warnings are not test failures
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def assert_runtime_matches(model, path: Path, item_shape, batches, seed: int = 1,
                           input_name: str = "input") -> None:
    """ONNX Runtime's output equals chainrule's (eval mode) within rtol 1e-5 and
    atol 1e-5·max|y| at each batch size."""
    sess = session(path)
    rng = np.random.default_rng(seed)
    model.eval()
    for b in batches:
        x = rng.standard_normal((b, *item_shape)).astype(np.float32)
        with cr.no_grad():
            want = model(cr.tensor(x)).numpy()
        (got,) = sess.run(None, {input_name: x})
        assert got.shape == want.shape, (b, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max(),
                                   err_msg=f"batch size {b}")


def op_types(proto) -> list[str]:
    return [n.op_type for n in proto.graph.node]
