"""Every built-in model, trained for one epoch, exported, checked and run in ONNX Runtime at
the example batch size and another one."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.models import build_model, model_config

from .helpers import assert_runtime_matches, export_and_check, op_types

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

CONFIGS = {
    "logreg": model_config("logreg", [8, 8], 10),
    "mlp_bn_dropout": model_config("mlp", [8, 8], 10, hidden=[16, 12], batch_norm=True,
                                   dropout=0.3),
    "resmlp": model_config("resmlp", [8, 8], 10, hidden=[12, 8], batch_norm=True),
    "cnn2d": model_config("cnn", [8, 8], 10, channels=[3, 4], hidden=[8], batch_norm=True),
    "cnn1d": model_config("cnn", [40], 10, channels=[6, 6, 6]),
}


def _train_one_epoch(model, shape, seed=0):
    """One epoch of SGD on 96 synthetic items (classes from a random linear rule), so weights
    move and batch norm's running statistics are not their initial 0 and 1."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((96, *shape)).astype(np.float32) * 2 + 0.5
    y = (x.reshape(96, -1) @ rng.standard_normal((x[0].size, 10))).argmax(1)
    opt = cr.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for i in range(0, 96, 16):
        opt.zero_grad()
        loss = loss_fn(model(cr.tensor(x[i:i + 16])), cr.tensor(y[i:i + 16]))
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize("key", list(CONFIGS))
def test_trained_builtin_model_exports_and_runs_at_two_batch_sizes(key, tmp_path):
    cfg = CONFIGS[key]
    cr.manual_seed(0)
    model = _train_one_epoch(build_model(cfg), cfg["input_shape"])
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    path = tmp_path / f"{key}.onnx"
    example = np.random.default_rng(2).standard_normal((4, *cfg["input_shape"]))
    proto = export_and_check(model, example.astype(np.float32), path)

    assert model.training, "export must give the model its mode back"
    for k, v in model.state_dict().items():      # the traced forward changed nothing
        np.testing.assert_array_equal(v.numpy(), state[k], err_msg=k)

    # weights stored once, named by their state_dict keys
    names = [i.name for i in proto.graph.initializer]
    assert len(names) == len(set(names))
    params = {k for k, _ in model.named_parameters()}
    assert params <= set(names), params - set(names)
    assert not [n for n in names if n not in state and not n.startswith("const")]
    if "bn" in key or key in ("resmlp", "cnn2d"):
        assert "BatchNormalization" in op_types(proto)
        bn = [k for k in state if k.endswith("running_var")]
        assert bn and set(bn) <= set(names)
        assert np.abs(state[bn[0]] - 1).max() > 1e-3      # statistics really were trained
    assert "Dropout" not in op_types(proto)

    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == \
        cfg["input_shape"]
    assert_runtime_matches(model, path, cfg["input_shape"], batches=(4, 9))


def test_initializers_load_into_the_same_pytorch_model_by_name(tmp_path):
    """The initializers are named by state_dict keys, so they load into PyTorch's twin of the
    model with load_state_dict, and PyTorch's output equals ONNX Runtime's."""
    torch = pytest.importorskip("torch")
    from onnx import numpy_helper

    from .helpers import session
    cfg = CONFIGS["mlp_bn_dropout"]
    cr.manual_seed(1)
    model = _train_one_epoch(build_model(cfg), cfg["input_shape"], seed=1)
    path = tmp_path / "mlp.onnx"
    example = np.random.default_rng(3).standard_normal((2, 8, 8)).astype(np.float32)
    proto = export_and_check(model, example, path)
    stored = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
              for i in proto.graph.initializer if not i.name.startswith("const")}
    tn = torch.nn
    twin = tn.Sequential(tn.Flatten(), tn.Linear(64, 16), tn.BatchNorm1d(16), tn.ReLU(),
                         tn.Dropout(0.3), tn.Linear(16, 12), tn.BatchNorm1d(12), tn.ReLU(),
                         tn.Dropout(0.3), tn.Linear(12, 10)).eval()
    missing, unexpected = twin.load_state_dict(stored, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), \
        (missing, unexpected)
    x = np.random.default_rng(4).standard_normal((6, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    (got,) = session(path).run(None, {"input": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
