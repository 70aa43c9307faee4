"""health.json (strict JSON, the report page's keys) and health.png."""
from __future__ import annotations

import json

import numpy as np

from chainrule.train.health import HealthRecord, Sample, plot_health, write_health_json
from chainrule.train.health.collector import LayerStats, ParamStats
from chainrule.train.health.verdicts import Verdict


def _sample(step: int, epoch: int, grad: float, update: float | None) -> Sample:
    layers = {name: LayerStats(name, "Linear", (4, 3), "relu", 0.1, 1.0, 0.5, None, 0.0,
                               {"weight": ParamStats(grad, 2.0, grad / 2, update),
                                "bias": ParamStats(0.1, 1.0, 0.1, None)})
              for name in ("a", "b")}
    return Sample(step, epoch, 0.1, layers)


def _record() -> HealthRecord:
    rec = HealthRecord("sgd", 0.1)
    rec.add(_sample(0, 1, 1.0, 1e-3))
    rec.add(_sample(1, 1, 3.0, 3e-3))
    rec.end_epoch(1)
    rec.add(_sample(2, 2, float("nan"), float("inf")))
    rec.end_epoch(2)
    rec.add_verdicts([Verdict("dead", "b", 2, 2, "evidence", "remedy")])
    return rec


def test_series_are_epoch_means_and_nonfinite_values_are_null(tmp_path):
    doc = _record().to_json(every=5)
    assert doc["format"] == "chainrule-health/1" and doc["every"] == 5
    assert doc["layers"] == ["a", "b"]
    col = doc["series"]["a"]
    assert col["epoch"] == [1, 2]
    assert col["grad_norm"] == [2.0, None] and col["update_ratio"] == [2e-3, None]
    assert col["saturated"] == [None, None] and col["dead"] == [0.0, 0.0]
    assert set(col) >= {"epoch", "grad_norm", "update_ratio", "delta_norm", "act_mean",
                        "act_std", "saturated", "dead"}
    exploding, dead = doc["verdicts"]   # the NaN gradient of epoch 2 gave the first
    assert (exploding["kind"], exploding["layer"], exploding["epoch"]) == ("exploding", "a", 2)
    assert dead == {"kind": "dead", "layer": "b", "epoch": 2, "step": 2,
                    "evidence": "evidence", "remedy": "remedy"}
    path = write_health_json(doc, tmp_path / "health.json")
    def refuse(token):
        raise AssertionError(f"health.json holds {token}, not strict JSON")
    assert json.loads(path.read_text(), parse_constant=refuse) == doc
    assert list(tmp_path.iterdir()) == [path]             # no temporary file left


def test_only_the_first_verdict_of_a_kind_is_kept():
    rec = _record()
    assert rec.add_verdicts([Verdict("dead", "a", 3, 9, "later", "r")]) == []
    assert [(v.kind, v.layer) for v in rec.verdicts] == [("exploding", "a"), ("dead", "b")]


def test_state_round_trip_keeps_series_and_verdicts():
    rec = _record()
    again = HealthRecord("sgd", 0.1)
    again.load_state_dict(json.loads(json.dumps(rec.state_dict())))
    assert again.to_json(5) == rec.to_json(5)


def test_health_png_is_written(tmp_path):
    path = plot_health(_record().to_json(5), tmp_path / "health.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = plot_health(HealthRecord().to_json(1), tmp_path / "empty.png")
    assert empty.stat().st_size > 0
