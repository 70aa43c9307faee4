"""The metrics of ``chainrule.train`` on every input shape they accept, against a hand count and
PyTorch's own arg-max / threshold; values stay in [0, 1]; bad targets are refused by name."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.train import Accuracy, evaluate, resolve_metrics
from chainrule.train.metrics import FunctionMetric


def torch_accuracy(output: np.ndarray, target: np.ndarray, threshold: float = 0.0) -> float:
    """The reference: PyTorch picks the class (arg-max over dim 1, or score > threshold for one
    score per sample) and the mean of the hits over every predicted position."""
    out, tgt = torch.from_numpy(output), torch.from_numpy(target)
    if out.ndim >= 2 and out.shape[1] > 1:
        pred = out.argmax(dim=1)
        if tgt.shape == out.shape:
            tgt = tgt.argmax(dim=1)
    else:
        pred = (out.reshape(out.shape[0], *out.shape[2:]) if out.ndim >= 2 else out) > threshold
        tgt = tgt.reshape(pred.shape)
    return float((pred.long() == tgt.long()).double().mean())


def run(output, target, batch=None, **kw) -> dict:
    m = Accuracy(**kw)
    m.reset()
    n = len(output)
    step = batch or n
    for i in range(0, n, step):
        m.update(output[i:i + step], target[i:i + step])
    return m.compute()


def test_class_axis_one_of_a_sequence_output_by_hand():
    # (N=2, C=3, L=4): the class is the arg-max over axis 1 at each of the 4 positions
    out = np.zeros((2, 3, 4), np.float32)
    pred = np.array([[0, 1, 2, 2], [1, 1, 0, 2]])
    for n in range(2):
        for t in range(4):
            out[n, pred[n, t], t] = 5.0
    target = np.array([[0, 1, 0, 0], [1, 2, 0, 2]])  # 2 hits + 3 hits of 8 positions
    got = run(out, target)
    assert got == {"accuracy": 5 / 8, "error_rate": 3 / 8}
    got = run(out, target, batch=1)                  # accumulated over batches: the same
    assert got == {"accuracy": 5 / 8, "error_rate": 3 / 8}


SHAPES = [  # (output shape, target shape, target kind)
    ((7, 3), (7,), "index"), ((7, 4, 5), (7, 5), "index"), ((6, 3, 2, 4), (6, 2, 4), "index"),
    ((7, 3), (7, 3), "soft"), ((5, 4, 6), (5, 4, 6), "soft"),
    ((8,), (8,), "binary"), ((8, 1), (8,), "binary"), ((8, 1), (8, 1), "binary"),
    ((6, 1, 5), (6, 5), "binary"), ((6, 1, 5), (6, 1, 5), "binary"),
    ((8, 1), (8, 1), "binary_float"), ((6, 1, 3), (6, 3), "binary_float"),
]


def make_case(rng, out_shape, tgt_shape, kind):
    out = rng.standard_normal(out_shape).astype(np.float32)
    if kind == "index":
        tgt = rng.integers(0, out_shape[1], tgt_shape)
    elif kind == "soft":
        tgt = rng.dirichlet(np.ones(out_shape[1]), size=(out_shape[0],) + out_shape[2:])
        tgt = np.moveaxis(tgt, -1, 1).astype(np.float32)
    else:
        tgt = rng.integers(0, 2, tgt_shape)
        if kind == "binary_float":
            tgt = tgt.astype(np.float32)
    return out, tgt


@pytest.mark.parametrize("out_shape,tgt_shape,kind", SHAPES)
def test_every_accepted_shape_matches_torch(out_shape, tgt_shape, kind):
    out, tgt = make_case(np.random.default_rng(0), out_shape, tgt_shape, kind)
    want = torch_accuracy(out, tgt)
    for batch in (None, 3):
        got = run(out, tgt, batch=batch)
        assert got["accuracy"] == pytest.approx(want, abs=1e-12)
        assert got["error_rate"] == pytest.approx(1 - want, abs=1e-12)
        assert 0.0 <= got["accuracy"] <= 1.0


def test_threshold_for_probabilities():
    p = np.array([0.2, 0.7, 0.55, 0.4], np.float32)
    t = np.array([0, 1, 0, 0])
    assert run(p, t, threshold=0.5)["accuracy"] == 0.75 == torch_accuracy(p, t, 0.5)
    assert run(p, t)["accuracy"] == 0.25  # threshold 0 (for logits): every sample predicts 1


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3),
       st.integers(0, 2**31 - 1), st.sampled_from(["index", "soft"]))
def test_accuracy_stays_in_unit_interval_and_equals_the_reference(n, c, extra, batch, seed,
                                                                  kind):
    rng = np.random.default_rng(seed)
    out_shape = (n, c + 1) + (3,) * extra if extra < 2 else (n, c + 1, 2, 3)
    tgt_shape = (n,) + out_shape[2:] if kind == "index" else out_shape
    out, tgt = make_case(rng, out_shape, tgt_shape, kind)
    got = run(out, tgt, batch=batch)
    assert 0.0 <= got["accuracy"] <= 1.0 and got["accuracy"] + got["error_rate"] == 1.0
    assert got["accuracy"] == pytest.approx(torch_accuracy(out, tgt), abs=1e-12)


def test_labels_outside_the_classes_are_refused_by_value_and_index():
    out = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"target 3 at index \(1, 2\) is not a class: expected "
                                         r"0 <= label < 3"):
        Accuracy().update(out, np.array([[0, 1, 2, 0], [0, 0, 3, 0]]))
    with pytest.raises(ValueError, match=r"target -100 at index \(1,\).*ignore_index"):
        Accuracy().update(np.zeros((2, 3)), np.array([1, -100]))
    with pytest.raises(ValueError, match=r"target 2 at index \(0,\).*0 or 1"):
        Accuracy().update(np.zeros(2), np.array([2, 0]))
    with pytest.raises(ValueError, match="regression"):
        Accuracy().update(np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"probability targets hold nan"):
        Accuracy().update(np.zeros((2, 3)), np.array([[0.5, np.nan, 0.5], [1.0, 0.0, 0.0]]))


def test_ignore_index_leaves_padding_out_of_the_count():
    out = np.array([[[3.0, 0.0, 0.0]], [[0.0, 3.0, 0.0]]]).transpose(0, 2, 1)  # (2, 3, 1)
    out = np.concatenate([out, out], axis=2)                                     # (2, 3, 2)
    target = np.array([[0, -100], [2, 1]])   # hit, padding, miss, hit
    got = run(out, target, ignore_index=-100)
    assert got["accuracy"] == pytest.approx(2 / 3)
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(out), torch.from_numpy(target),
                                            ignore_index=-100, reduction="none")
    assert int((ref == 0).sum()) == 1  # torch ignores the same position: its loss is 0 there


def test_shapes_that_do_not_fit_are_refused_not_broadcast():
    with pytest.raises(ValueError, match=r"predictions of shape \(4, 5\).*targets have shape "
                                         r"\(4, 5, 1\)"):
        Accuracy().update(np.zeros((4, 1, 5)), np.zeros((4, 5, 1), np.int64))
    with pytest.raises(ValueError, match=r"predictions of shape \(4,\).*shape \(4, 4\)"):
        Accuracy().update(np.zeros((4, 3)), np.zeros((4, 4), np.int64))
    with pytest.raises(ValueError, match=r"predictions of shape \(3, 5\).*shape \(3,\)"):
        Accuracy().update(np.zeros((3, 2, 5)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="batch axis"):
        Accuracy().update(np.float32(1.0), np.int64(1))


def test_nan_scores_never_count_as_correct():
    out = np.array([[np.nan, 0.0], [0.0, 1.0], [np.nan, np.nan]], np.float32)
    assert run(out, np.array([0, 1, 0]))["accuracy"] == pytest.approx(1 / 3)
    assert run(np.array([np.nan, 2.0]), np.array([0, 1]))["accuracy"] == 0.5


def test_function_metrics_average_over_samples_and_must_return_one_number():
    mae = FunctionMetric(lambda o, t: np.abs(o - t).mean(), name="mae")
    mae.reset()
    mae.update(np.ones((2, 3, 4)), np.zeros((2, 3, 4)))
    mae.update(np.full((1, 3, 4), 4.0), np.zeros((1, 3, 4)))
    assert mae.compute() == {"mae": pytest.approx((1 * 2 + 4 * 1) / 3)}
    per_row = FunctionMetric(lambda o, t: np.abs(o - t).mean(axis=1), name="rows")
    with pytest.raises(TypeError, match=r"metric 'rows'.*one number per batch.*shape \(2,\)"):
        per_row.update(np.ones((2, 3)), np.zeros((2, 3)))


def test_evaluate_reports_the_accuracy_of_a_sequence_model():
    class Fixed:  # an (N, C, L) output; no parameters needed for evaluate
        def __call__(self, x):
            return x

    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 4, 3)).astype(np.float32)
    y = rng.integers(0, 4, (10, 3))
    batches = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 10, 4)]
    got = evaluate(Fixed(), batches, metrics=resolve_metrics("accuracy"))
    assert got["accuracy"] == pytest.approx(torch_accuracy(x, y), abs=1e-12)
    assert 0.0 <= got["accuracy"] <= 1.0 and got["samples"] == 10
