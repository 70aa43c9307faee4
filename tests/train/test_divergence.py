"""TerminateOnDivergence: a finite loss DIVERGENCE_FACTOR times the first minibatch's stops the
run as surely as a NaN does; a loss just under the factor, or a normal run, never does."""
from __future__ import annotations

import math

import pytest

from chainrule import nn
from chainrule.train import DIVERGENCE_FACTOR, TerminateOnDivergence, fit, has_diverged

from .problems import setup


class _Trainer:
    def __init__(self):
        self.stopped: list[tuple[str, bool]] = []

    def stop(self, reason: str = "stopped", immediately: bool = False) -> None:
        self.stopped.append((reason, immediately))


def _feed(cb: TerminateOnDivergence, losses) -> _Trainer:
    tr = _Trainer()
    for i, loss in enumerate(losses):
        cb.on_batch_end(tr, i, {"loss": loss, "size": 1})
    return tr


def test_the_factor_is_one_documented_constant():
    assert DIVERGENCE_FACTOR == 1e4
    assert TerminateOnDivergence().factor == DIVERGENCE_FACTOR


@pytest.mark.parametrize("losses,reason", [
    ([2.3, 1.0, 2.3 * DIVERGENCE_FACTOR * 1.01], "diverged"),
    ([2.3, 5.0, 1e19], "diverged"),
    ([2.3, float("nan")], "nan"),
    ([2.3, float("inf")], "nan"),
    ([float("nan")], "nan"),
])
def test_a_diverged_loss_stops_at_once(losses, reason):
    tr = _feed(TerminateOnDivergence(), losses)
    assert tr.stopped == [(reason, True)]


def test_losses_under_the_factor_never_stop():
    # noisy, even rising a thousandfold: not divergence
    tr = _feed(TerminateOnDivergence(), [2.3, 0.01, 2.3 * DIVERGENCE_FACTOR * 0.99, 0.5, 0.0])
    assert tr.stopped == []


def test_the_reference_is_the_first_batch_and_survives_a_checkpoint():
    cb = TerminateOnDivergence()
    _feed(cb, [2.0, 1e3])  # the exploded second batch does not become the reference
    assert cb.reference == 2.0
    resumed = TerminateOnDivergence()
    resumed.load_state_dict(cb.state_dict())
    tr = _feed(resumed, [3e4])  # a resumed run's first batch is compared with the original
    assert tr.stopped == [("diverged", True)]
    assert TerminateOnDivergence().state_dict() == {}


def test_has_diverged():
    assert has_diverged(math.nan, None) and has_diverged(-math.inf, 1.0)
    assert has_diverged(1e4 + 1, 1.0) and not has_diverged(1e4, 1.0)
    assert not has_diverged(1e9, 0.0) and not has_diverged(1e9, None)
    assert has_diverged(11.0, 1.0, factor=10)
    with pytest.raises(ValueError, match="factor"):
        TerminateOnDivergence(factor=1)


def test_a_normal_run_does_not_trip_it_and_a_huge_lr_does():
    s = setup(dropout=0.0)
    cb = TerminateOnDivergence()
    h = fit(s["model"], s["loss_fn"], s["optimizer"], s["train"], epochs=2, callbacks=[cb],
            metrics=())
    assert h.stop_reason is None and len(h) == 2
    s = setup(dropout=0.0)
    for group in s["optimizer"].param_groups:
        group["lr"] = 1e6
    h = fit(s["model"], nn.functional.cross_entropy, s["optimizer"], s["train"], epochs=2,
            callbacks=[TerminateOnDivergence()], metrics=())
    assert h.stop_reason in ("diverged", "nan") and len(h) == 0
