"""Export never writes a graph that is silently wrong at another input: masks computed from the
input, shapes that follow the batch, and values read off the example either become ONNX ops
that ONNX Runtime runs to chainrule's answer at two batch sizes and new values, or are refused
with an error naming the op, the module path and why."""
from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.onnx import ExportError

from .helpers import assert_runtime_matches, export_and_check, op_types, session


class _Lambda(nn.Module):
    def __init__(self, fn, **params):
        super().__init__()
        self.fn = fn
        for name, value in params.items():
            setattr(self, name, value)

    def forward(self, x):
        return self.fn(self, x)


def _example(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# -- masks from comparisons --------------------------------------------------------------------
MASKS = {       # name: (forward, an ONNX op the mask needs)
    "mul_by_mask": (lambda m, x: x * (x > 0), "Greater"),          # the mask goes through cast
    "float_mask": (lambda m, x: x * (x <= 0.3).float() + 1.0, "LessOrEqual"),
    "where_mean_mask": (lambda m, x: cr.where(x.mean(0) > 0, x, -x), "Greater"),  # not batch-
    "where_equal": (lambda m, x: cr.where(x.abs() == x, x, x * 3.0), "Equal"),    # shaped
    "logic": (lambda m, x: cr.where((x > -0.5) & ~(x >= 0.5) | (x != x), x, 0.0), "Or"),
    "masked_fill": (lambda m, x: x.masked_fill(x < m.cut, -1.0), "Greater"),  # Python asks
    "less": (lambda m, x: x * (x < -0.2), "Less"),          # the Parameter first: cut > x
    "mask_of_hidden": (lambda m, x: x * (m.lin(x).relu() > 0.1).float(), "Greater"),
}


@pytest.mark.parametrize("name", sorted(MASKS))
def test_comparisons_are_computed_in_the_graph(name, tmp_path):
    cr.manual_seed(0)
    forward, onnx_op = MASKS[name]
    model = _Lambda(forward, lin=nn.Linear(4, 4), cut=nn.Parameter(cr.tensor([0.1])))
    proto = export_and_check(model, _example((3, 4)), tmp_path / "m.onnx")
    assert onnx_op in op_types(proto)
    assert_runtime_matches(model, tmp_path / "m.onnx", (4,), batches=(3, 7), seed=5)


def test_isfinite_masks_follow_nan_and_inf_at_run_time(tmp_path):
    model = _Lambda(lambda m, x: cr.where(cr.isfinite(x), x, 0.0) + cr.isnan(x).float())
    export_and_check(model, _example((2, 3)), tmp_path / "f.onnx")
    x = np.array([[1.0, np.nan, -np.inf], [np.inf, -2.0, 0.5], [np.nan, 0.0, 3.0]], np.float32)
    (got,) = session(tmp_path / "f.onnx").run(None, {"input": x})
    np.testing.assert_array_equal(got, model(cr.tensor(x)).numpy())


def test_a_model_that_returns_a_mask(tmp_path):
    model = _Lambda(lambda m, x: x.sum(1) > 0)
    export_and_check(model, _example((3, 4)), tmp_path / "b.onnx")
    x = _example((6, 4), seed=2)
    (got,) = session(tmp_path / "b.onnx").run(None, {"input": x})
    np.testing.assert_array_equal(got, x.sum(1) > 0)


# -- values read off the example ---------------------------------------------------------------
def test_a_number_read_with_item_is_refused():
    model = nn.Sequential(nn.Linear(4, 4), _Lambda(lambda m, x: x * x.abs().max().item()))
    with pytest.raises(ExportError, match=r"op 'mul' \(in module '1'\).*input 1 is the value.*"
                                          r"changes with the input"):
        cr.onnx.export(model, cr.randn(3, 4), io.BytesIO())


def test_a_mask_made_with_numpy_is_refused():
    model = nn.Sequential(_Lambda(lambda m, x: x * cr.tensor(x.numpy() > 0)))
    with pytest.raises(ExportError, match=r"op 'cast' \(in module '0'\).*shape \(3, 4\) and "
                                          r"dtype bool.*changes with the input"):
        cr.onnx.export(model, cr.randn(3, 4), io.BytesIO(), dynamic_batch=False)


def test_a_slice_that_ends_at_the_example_batch_is_refused():
    model = _Lambda(lambda m, x: x[: x.shape[0] - 1])
    with pytest.raises(ExportError, match=r"op 'getitem' \(in the top-level module\).*"
                                          r"parameter 'index'.*dynamic_batch=False"):
        cr.onnx.export(model, cr.randn(3, 4), io.BytesIO())
    cr.onnx.export(model, cr.randn(3, 4), io.BytesIO(), dynamic_batch=False)   # fixed: fine


def test_a_shape_fixed_to_the_example_batch_is_refused_with_the_reason():
    model = _Lambda(lambda m, x: x.reshape(6, -1))          # 6 rows only fit the example
    with pytest.raises(ExportError, match=r"batch size 5.*failed.*dynamic_batch=False"):
        cr.onnx.export(model, cr.randn(2, 3), io.BytesIO())


# -- shapes that follow the batch --------------------------------------------------------------
class _MergeBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):                              # (B, 5, 4) -> (5B, 2) -> (B, 10)
        return self.lin(x.flatten(0, 1)).reshape(x.shape[0], -1)


RESHAPES = {
    "merge_batch": (_MergeBatch, (5, 4)),
    "batch_off_axis_0": (lambda: _Lambda(lambda m, x: x.permute(1, 0, 2).reshape(5, -1)),
                         (5, 4)),
    "fixed_first_axis": (lambda: _Lambda(lambda m, x: x.reshape(4, -1)), (2, 4)),
    "split_batch_axis": (lambda: _Lambda(lambda m, x: x.reshape(-1, 3, 4).sum(1)), (4,)),
    "expand_batch": (lambda: _Lambda(
        lambda m, x: cr.cat([m.token.expand(x.shape[0], 1, 4), x], dim=1),
        token=nn.Parameter(cr.randn(1, 1, 4))), (5, 4)),
    "expand_off_axis_0": (lambda: _Lambda(
        lambda m, x: x.permute(1, 0, 2)[:, :, None, :].expand(5, x.shape[0], 2, 4)), (5, 4)),
}


@pytest.mark.parametrize("name", sorted(RESHAPES))
def test_shapes_that_follow_the_batch_run_at_other_batch_sizes(name, tmp_path):
    cr.manual_seed(1)
    make, item = RESHAPES[name]
    model = make()
    example_batch = {"split_batch_axis": 6, "fixed_first_axis": 2}.get(name, 3)
    export_and_check(model, _example((example_batch, *item)), tmp_path / "r.onnx")
    batches = (example_batch, 2 * example_batch + 1 if name != "split_batch_axis" else 12)
    assert_runtime_matches(model, tmp_path / "r.onnx", item, batches=batches, seed=3)


def test_free_output_axes_are_the_ones_that_follow_the_batch(tmp_path):
    model = RESHAPES["batch_off_axis_0"][0]()
    proto = export_and_check(model, _example((3, 5, 4)), tmp_path / "p.onnx")
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert dims[0].dim_value == 5 and dims[1].dim_param == "output_dim1"
    proto = export_and_check(_Lambda(lambda m, x: x.mean(0)), _example((3, 4)),
                             tmp_path / "m.onnx")
    assert [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == [4]


def test_a_reshape_with_two_axes_on_the_batch_is_refused():
    def outer(m, x):                                  # (B, 2) -> (2B, 2B) -> (B, 2, 4B)
        flat = x.reshape(-1)
        return (flat[:, None] * flat[None, :]).reshape(x.shape[0], 2, -1)
    model = nn.Sequential(nn.Identity(), _Lambda(outer))
    with pytest.raises(ExportError, match=r"op 'reshape' \(in module '1'\): reshape of "
                                          r"\(6, 6\) to \(3, 2, 6\).*infer only one.*"
                                          r"dynamic_batch=False"):
        cr.onnx.export(model, cr.randn(3, 2), io.BytesIO())


def test_control_flow_on_the_batch_size_is_refused():
    model = _Lambda(lambda m, x: x.exp() if x.shape[0] < 4 else x.tanh())
    with pytest.raises(ExportError, match=r"other ops.*'tanh' there, 'exp' here"):
        cr.onnx.export(model, cr.randn(3, 2), io.BytesIO())


def test_a_constant_mask_buffer_stays_a_constant(tmp_path):
    model = _Lambda(lambda m, x: cr.where(m.keep, x, 0.0))
    model.register_buffer("keep", cr.tensor([True, False, True, True]))
    export_and_check(model, _example((3, 4)), tmp_path / "k.onnx")
    assert_runtime_matches(model, tmp_path / "k.onnx", (4,), batches=(2, 5))


def test_integer_inputs_compared_with_a_float(tmp_path):
    model = _Lambda(lambda m, x: (x > 1.5).float() + (x != 0).float() * 2.0)
    tokens = np.array([[0, 1, 2], [3, 0, 1]], np.int64)
    export_and_check(model, tokens, tmp_path / "i.onnx")
    x = np.array([[2, 0, 1], [0, 0, 5], [1, 2, 3]], np.int64)
    (got,) = session(tmp_path / "i.onnx").run(None, {"input": x})
    np.testing.assert_array_equal(got, model(cr.tensor(x)).numpy())
