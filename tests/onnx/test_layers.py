"""Each supported layer and op exported, checked and run in ONNX Runtime at two batch sizes;
module patterns; weights stored once; the errors."""
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.onnx import ExportError

from .helpers import assert_runtime_matches, export_and_check, op_types

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _conv_stack():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
        nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2), nn.PReLU(4), nn.ELU(0.7),
        nn.MaxPool2d(2, stride=1, padding=1), nn.AvgPool2d(2),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.MaxPool2d(2, stride=1, ceil_mode=True), nn.AdaptiveAvgPool2d(2),
        nn.Dropout(0.5), nn.Flatten(), nn.Linear(16, 6), nn.GELU(), nn.LayerNorm(6),
        nn.Softplus(beta=2.0), nn.Tanh(), nn.Linear(6, 5), nn.GELU(approximate="tanh"),
        nn.Sigmoid(), nn.LogSoftmax(dim=1))


def _signal_stack():
    return nn.Sequential(
        nn.Conv1d(3, 4, 3, stride=2, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
        nn.Conv1d(4, 6, 3, groups=2, padding=1), nn.MaxPool1d(2), nn.AvgPool1d(2, padding=1),
        nn.AdaptiveAvgPool1d(3), nn.Flatten(), nn.Softmax(dim=-1))


def _eval_ready(model, shape, seed=0):
    """Give batch norm non-trivial running statistics with a few training forwards."""
    cr.manual_seed(seed)
    model.train()
    with cr.no_grad():
        for k in range(3):
            model(cr.randn(8, *shape) * (k + 1) + 0.3)
    model.eval()
    return model


@pytest.mark.parametrize("opset", [17, 20])
def test_conv_stack_with_every_activation(opset, tmp_path):
    shape = (2, 9, 9)
    model = _eval_ready(_conv_stack(), shape)
    x = np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32)
    proto = export_and_check(model, x, tmp_path / "m.onnx", opset_version=opset)
    ops = op_types(proto)
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "Gemm", "Softplus",
            "LogSoftmax", "Tanh", "Sigmoid", "LeakyRelu", "PRelu", "Elu"} <= set(ops), ops
    assert ops.count("Where") == 1       # Softplus's threshold; LeakyReLU, ELU, PReLU are
    #                                       matched as whole modules
    grouped = [n for n in proto.graph.node if n.op_type == "Conv"
               and any(a.name == "group" and a.i == 2 for a in n.attribute)]
    assert len(grouped) == 1
    assert ("Gelu" in ops) == (opset >= 20) and ops.count("Gelu") in (0, 2)
    assert "LayerNormalization" in ops        # opset >= 17
    assert_runtime_matches(model, tmp_path / "m.onnx", shape, batches=(3, 6))


def test_signal_stack_1d(tmp_path):
    shape = (3, 16)
    model = _eval_ready(_signal_stack(), shape)
    x = np.random.default_rng(1).standard_normal((2, *shape)).astype(np.float32)
    export_and_check(model, x, tmp_path / "s.onnx")
    assert_runtime_matches(model, tmp_path / "s.onnx", shape, batches=(2, 5))


def test_layer_norm_below_opset_17_is_decomposed(tmp_path):
    model = nn.Sequential(nn.Linear(5, 6), nn.LayerNorm(6), nn.GELU())
    x = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    proto = export_and_check(model, x, tmp_path / "l.onnx", opset_version=13)
    ops = op_types(proto)
    assert "LayerNormalization" not in ops and "ReduceMean" in ops and "Erf" in ops
    assert_runtime_matches(model, tmp_path / "l.onnx", (5,), batches=(3, 4))


class _Residual(nn.Module):
    """Residual adds, matmul, permute, cat, reshape and the elementwise arithmetic."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.mix = nn.Parameter(cr.randn(4, 4))
        self.scale = nn.Parameter(cr.ones(4) * 0.5)

    def forward(self, x):                      # x: (N, 3, 4)
        h = self.proj(x) + x                   # Linear on a 3-d input, residual add
        h = cr.matmul(h, self.mix) * self.scale - 0.25
        h = h / (1.0 + h.abs()) + h ** 2
        t = h.permute(0, 2, 1)                 # (N, 4, 3)
        both = cr.cat([t, t.exp().tanh()], dim=2)   # (N, 4, 6)
        flat = both.reshape(x.shape[0], -1)    # (N, 24)
        picked = cr.cat([h[:, 0], h[:, -1, ::2], h[..., 1:3].reshape(-1, 6),
                         h[:, None, 1, :].flatten(1), h[:, ::-1, 0]], dim=1)   # (N, 17)
        leaky = F.leaky_relu(picked, 0.2) + F.elu(picked)     # functional: Greater + Where
        return cr.cat([flat.sum(dim=1, keepdim=True) + flat.mean(dim=1, keepdim=True) * flat,
                       leaky], dim=1)


def test_custom_module_arithmetic_and_shapes(tmp_path):
    cr.manual_seed(3)
    model = _Residual()
    x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    proto = export_and_check(model, x, tmp_path / "r.onnx")
    names = [i.name for i in proto.graph.initializer]
    assert {"proj.weight", "proj.bias", "mix", "scale"} <= set(names)
    assert {"MatMul", "Transpose", "Concat", "Reshape", "ReduceSum", "ReduceMean", "Slice",
            "Squeeze", "Unsqueeze", "Greater", "Where"} <= set(op_types(proto))
    assert_runtime_matches(model, tmp_path / "r.onnx", (3, 4), batches=(2, 7))


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(5, 5)

    def forward(self, x):
        return self.layer(self.layer(x).relu())


def test_a_weight_used_twice_is_stored_once(tmp_path):
    model = _Tied()
    x = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    proto = export_and_check(model, x, tmp_path / "t.onnx")
    names = [i.name for i in proto.graph.initializer]
    assert names.count("layer.weight") == 1 and names.count("layer.bias") == 1
    assert op_types(proto).count("Gemm") == 2
    assert_runtime_matches(model, tmp_path / "t.onnx", (5,), batches=(3, 8))


def test_static_batch_and_names(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 3))
    x = np.random.default_rng(5).standard_normal((1, 2, 3)).astype(np.float32)
    proto = export_and_check(model, x, tmp_path / "f.onnx", dynamic_batch=False,
                             input_names=["pixels"], output_names=["logits"])
    assert [i.name for i in proto.graph.input] == ["pixels"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    assert_runtime_matches(model, tmp_path / "f.onnx", (2, 3), batches=(1,),
                           input_name="pixels")


def test_dynamic_axes_in_pytorch_form(tmp_path):
    model = nn.Sequential(nn.Linear(4, 2))
    x = np.ones((3, 4), np.float32)
    proto = export_and_check(model, x, tmp_path / "d.onnx", dynamic_batch=False,
                             dynamic_axes={"input": {0: "n"}, "output": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "output_dim0"
    assert_runtime_matches(model, tmp_path / "d.onnx", (4,), batches=(3, 5))


class _Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 3), _CumSum())

    def forward(self, x):
        return self.body(x)


class _CumSum(nn.Module):
    def forward(self, x):
        return cr.cumsum(x, dim=1)


def test_unsupported_op_names_the_op_and_module_path(tmp_path):
    with pytest.raises(ExportError, match=r"cannot export op 'cumsum' \(in module 'body\.1'\)"):
        cr.onnx.export(_Body(), cr.randn(2, 3), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


class _BakedMask(nn.Module):
    def forward(self, x):
        return x + np.ones(tuple(x.shape), np.float32)    # a constant as big as the batch


def test_a_constant_shaped_like_the_example_batch_is_refused(tmp_path):
    with pytest.raises(ExportError, match="dynamic_batch=False"):
        cr.onnx.export(_BakedMask(), cr.randn(3, 2), io.BytesIO())
    export_and_check(_BakedMask(), np.ones((3, 2), np.float32), tmp_path / "fixed.onnx",
                     dynamic_batch=False)


def test_advanced_indexing_is_refused():
    class Pick(nn.Module):
        def forward(self, x):
            return x[:, [0, 2]]
    with pytest.raises(ExportError, match="basic indexing"):
        cr.onnx.export(Pick(), cr.randn(3, 4), io.BytesIO())


def test_batch_norm_in_training_statistics_mode_is_refused():
    model = nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ExportError, match="batch's statistics"):
        cr.onnx.export(model, cr.randn(4, 3), io.BytesIO())


@pytest.mark.parametrize("kwargs, error, words", [
    ({"opset_version": 12}, ValueError, "opset_version"),
    ({"input_names": ["a", "b"]}, ValueError, "input_names"),
    ({"dynamic_axes": {"input": {3: "x"}}}, ValueError, "axis 3"),
])
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        cr.onnx.export(nn.Linear(3, 2), cr.randn(2, 3), io.BytesIO(), **kwargs)


def test_bad_model_or_input():
    with pytest.raises(TypeError, match="nn.Module"):
        cr.onnx.export(lambda x: x, cr.randn(2, 3), io.BytesIO())
    with pytest.raises(TypeError, match="example_input"):
        cr.onnx.export(nn.Linear(3, 2), [[1.0, 2.0, 3.0]], io.BytesIO())
    with pytest.raises(ValueError, match="at least 2 rows"):
        cr.onnx.export(nn.Linear(3, 2), cr.randn(1, 3), io.BytesIO())


class _TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(2, 4)
        self.shared = nn.Linear(4, 4)

    def forward(self, x, y):
        h = self.shared(self.a(x)) + self.shared(self.b(y))
        return h.relu(), h.sigmoid().sum(dim=1)


def test_several_inputs_and_outputs(tmp_path):
    from .helpers import session
    cr.manual_seed(5)
    model = _TwoInTwoOut()
    rng = np.random.default_rng(5)
    cr.onnx.export(model, (cr.randn(2, 3), cr.randn(2, 2)), tmp_path / "two.onnx",
                   input_names=["x", "y"], output_names=["r", "s"])
    sess = session(tmp_path / "two.onnx")
    assert [o.name for o in sess.get_outputs()] == ["r", "s"]
    for n in (2, 6):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = rng.standard_normal((n, 2)).astype(np.float32)
        got = sess.run(None, {"x": x, "y": y})
        want = [t.numpy() for t in model(cr.tensor(x), cr.tensor(y))]
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
