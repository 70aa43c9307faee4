"""Guards on what a metric counts: every prediction (not every sample) for segmentation-shaped
outputs, the threshold itself on the negative side, soft labels over the class axis 1, and
averages weighted by batch size (in FunctionMetric and in evaluate's loss)."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule.nn.functional as F
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import Accuracy, FunctionMetric, evaluate


def test_accuracy_counts_every_pixel_of_a_segmentation_output():
    out = np.zeros((2, 3, 2, 2), np.float32)          # (N, C, H, W): class 0 wins everywhere
    target = np.zeros((2, 2, 2), np.int64)
    target[0, 0, 0] = 1                               # one wrong pixel out of 8
    acc = Accuracy()
    acc.update(out, target)
    assert acc.compute()["accuracy"] == pytest.approx(7 / 8)


def test_soft_labels_of_a_segmentation_output_take_the_arg_max_over_axis_1():
    rng = np.random.default_rng(0)
    out = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    onehot = np.zeros_like(out)
    labels = out.argmax(axis=1)
    labels[0, 0, 0] = (labels[0, 0, 0] + 1) % 3       # one wrong pixel out of 40
    np.put_along_axis(onehot, labels[:, None], 1.0, axis=1)
    acc = Accuracy()
    acc.update(out, onehot)
    assert acc.compute()["accuracy"] == pytest.approx(39 / 40)


def test_a_score_exactly_at_the_threshold_is_the_negative_class():
    acc = Accuracy()
    acc.update(np.array([0.0, 0.5, -0.5, 0.0], np.float32), np.array([0, 1, 0, 1]))
    assert acc.compute()["accuracy"] == pytest.approx(3 / 4)
    acc = Accuracy(threshold=0.5)
    acc.update(np.array([[0.5], [0.9]], np.float32), np.array([[0], [1]]))
    assert acc.compute()["accuracy"] == 1.0


def test_function_metric_weights_each_batch_by_its_size():
    m = FunctionMetric(lambda o, t: float(np.mean(o)), name="m")
    m.update(np.ones(3), np.zeros(3))                 # mean 1 over 3 samples
    m.update(np.zeros(1), np.zeros(1))                # mean 0 over 1 sample
    assert m.compute()["m"] == pytest.approx(3 / 4)


def test_evaluate_averages_the_loss_over_samples_not_batches():
    x = np.array([[1.0], [1.0], [1.0], [3.0]], np.float32)
    y = np.zeros((4, 1), np.float32)
    loader = DataLoader(ArrayDataset(x, y), batch_size=3)   # batches of 3 and 1

    def model(t):
        return t * 1.0

    res = evaluate(model, loader, loss_fn=F.mse_loss, metrics=())
    assert res["loss"] == pytest.approx((1 + 1 + 1 + 9) / 4)
    assert res["samples"] == 4
