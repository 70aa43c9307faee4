"""detect_anomaly: the first NaN/Inf in forward or backward names the op and the user's line."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import func
from chainrule.autograd import AnomalyError, detect_anomaly, is_anomaly_enabled

HERE = __file__

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's own NaN warnings


def line_of(marker: str) -> int:
    """The line number in this file of the (unique) line containing ``marker``."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    hits = [i + 1 for i, text in enumerate(lines) if marker in text and "line_of(" not in text]
    assert len(hits) == 1, hits
    return hits[0]


def small_network(x, w1, w2):
    h = (x @ w1).tanh()                 # values in (−1, 1), some negative
    s = h.log()                         # the bad op: log of a negative number -> NaN
    return (s @ w2).sum()


def weights():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((4, 3)))
    w1 = cr.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    return x, w1, w2


def test_off_by_default_nan_passes_silently():
    assert not is_anomaly_enabled()
    loss = small_network(*weights())
    assert np.isnan(loss.item())


def test_forward_nan_names_the_op_and_the_users_line():
    with detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            small_network(*weights())
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: log produced NaN in its forward output (shape (4, 5))")
    assert f'File "{HERE}", line {line_of("the bad op")}, in small_network' in msg
    assert "s = h.log()" in msg
    assert "input 0: shape (4, 5), values in [-" in msg  # the negative input that caused it
    assert info.value.op == "log" and info.value.phase == "forward"
    assert not is_anomaly_enabled()  # restored on the way out of the with block


def test_forward_nan_without_grad_is_caught_too():
    x = cr.tensor([1.0, -1.0])
    with detect_anomaly(), pytest.raises(AnomalyError, match="sqrt produced NaN") as info:
        x.sqrt()  # no graph recorded
    assert f"line {line_of('x.sqrt()  # no graph')}" in str(info.value)


def test_forward_inf_is_reported_as_inf():
    x = cr.tensor([1.0, 200.0], requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"exp produced Inf"):
        x.exp()


def test_backward_inf_names_the_op_whose_backward_produced_it():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = (x.sqrt() * 3).sum()        # sqrt at 0: finite forward, infinite gradient
        with pytest.raises(AnomalyError) as info:
            y.backward()
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: the backward of sqrt produced Inf in the gradient of "
                          "its input 0 (shape (2,))")
    assert f"line {line_of('sqrt at 0: finite forward')}" in msg
    assert info.value.op == "sqrt" and info.value.phase == "backward"


def test_backward_nan_under_create_graph_names_the_op():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = (x.sqrt() * x).sum()        # second-order: the sqrt's backward divides by 0
        with pytest.raises(AnomalyError, match=r"the backward of sqrt produced (NaN|Inf)") as info:
            cr.autograd.grad(y, x, create_graph=True)
    assert f"line {line_of('second-order: the sqrt')}" in str(info.value)


def test_anomaly_inside_a_function_transform_points_at_the_users_code():
    def f(x):
        return (x - 2).log().sum()      # log of a negative number inside grad
    with detect_anomaly(), pytest.raises(AnomalyError, match="log produced NaN") as info:
        func.grad(f)(cr.tensor([1.0, 3.0]))
    assert f"line {line_of('log of a negative number inside grad')}, in f" in str(info.value)


def test_without_anomaly_backward_produces_inf_silently():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_a_clean_run_under_anomaly_mode_matches_a_normal_one():
    x, w1, w2 = weights()
    with detect_anomaly():
        loss = ((x @ w1).tanh() @ w2).sum()
        loss.backward()
    g = w1.grad.numpy().copy()
    w1.grad = None
    ((x @ w1).tanh() @ w2).sum().backward()
    np.testing.assert_array_equal(w1.grad.numpy(), g)


def test_decorator_form_and_nesting():
    @detect_anomaly()
    def bad(x):
        return x.log()

    with pytest.raises(AnomalyError):
        bad(cr.tensor([-1.0]))
    assert not is_anomaly_enabled()
    mode = detect_anomaly()
    with mode:
        with detect_anomaly(check_nan=False):
            assert not is_anomaly_enabled()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cr.tensor([-1.0]).log()     # not checked in here
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
