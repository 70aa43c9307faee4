"""The record a health run keeps: sampled batches, per-epoch series per layer and the
verdicts found so far (the training callback and ``diagnose`` feed it)."""
from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any, Callable

from . import thresholds as T
from .collector import LayerStats, ParamStats
from .verdicts import (Sample, Verdict, batch_verdicts, explain_away, growth_verdict,
                       lr_verdicts, overfitting_verdict)

__all__ = ["HealthRecord", "SERIES_KEYS"]

# The per-layer series of health.json, each a per-epoch mean over the epoch's sampled batches.
SERIES_KEYS = ("grad_norm", "update_ratio", "delta_norm", "act_mean", "act_std", "saturated",
               "dead", "bias_grad_norm", "grad_to_weight")


def _layer_value(stats, key: str) -> float | None:
    if key == "grad_to_weight":
        p = stats._main()
        return p.grad_to_weight if p is not None else None
    return getattr(stats, key)


def _mean(values: list) -> float | None:
    """Mean of the values that are not None (None when there are none; a non-finite value
    makes it non-finite)."""
    got = [v for v in values if v is not None]
    return math.fsum(got) / len(got) if got else None


class HealthRecord:
    """Per-layer series by epoch and the verdicts, built from :class:`Sample` s."""

    def __init__(self, family: str | None = None, initial_lr: float | None = None):
        self.family, self.initial_lr = family, initial_lr
        self.layers: list[str] = []
        self.series: dict[str, dict[str, list]] = {}
        self.verdicts: list[Verdict] = []
        self.epoch_samples: list[Sample] = []
        self.first: Sample | None = None
        self.lr_window: list[Sample] = []

    # -- feeding -------------------------------------------------------------------------------
    def add(self, sample: Sample) -> None:
        """One measured batch (with its update ratios, when the step was measured)."""
        for name in sample.layers:
            if name not in self.series:
                self.layers.append(name)
                self.series[name] = {"epoch": [], **{k: [] for k in SERIES_KEYS}}
        if self.first is None:
            self.first = sample
        self.epoch_samples.append(sample)
        if any(s.update_ratio is not None for s in sample.layers.values()):
            self.lr_window.append(sample)
            del self.lr_window[:-T.LR_WINDOW]

    def _close_series(self, epoch: int) -> None:
        for name in self.layers:
            got = [s.layers[name] for s in self.epoch_samples if name in s.layers]
            if not got:
                continue
            col = self.series[name]
            col["epoch"].append(epoch)
            for key in SERIES_KEYS:
                col[key].append(_mean([_layer_value(s, key) for s in got]))

    def end_epoch(self, epoch: int) -> list[Verdict]:
        """Close an epoch: its series points and the verdicts its sampled batches newly show
        (returned). Overfitting is not judged here but on the whole history at the end
        (:meth:`judge_history`)."""
        found = batch_verdicts(self.epoch_samples)
        grow = growth_verdict(self.first, self.epoch_samples)
        if grow is not None:
            found.append(grow)
        found += lr_verdicts(self.lr_window, self.family, self.initial_lr)
        if self.epoch_samples:
            self._close_series(epoch)
        self.epoch_samples = []
        for v in found:
            if v.epoch is None:
                v.epoch = epoch
        return self.add_verdicts(found)

    def judge_history(self, history: list[dict]) -> list[Verdict]:
        """The verdicts read from the whole history (overfitting), judged when training ends:
        an earlier run's overfitting verdict (a resumed run's checkpoint) is replaced by this
        judgement, so a validation loss that recovered loses it. Returns the verdict if it is
        new (not held before)."""
        had = any(v.kind == "overfitting" for v in self.verdicts)
        self.verdicts = [v for v in self.verdicts if v.kind != "overfitting"]
        over = overfitting_verdict(history)
        if over is None:
            return []
        self.verdicts.append(over)
        return [] if had else [over]

    def add_verdicts(self, found: list[Verdict]) -> list[Verdict]:
        """Keep the verdicts whose kind was not seen before (the first appearance of each
        kind is what is kept and warned about); returns those."""
        new = []
        for v in explain_away(found, self.verdicts):
            if not any(k.kind == v.kind for k in self.verdicts):
                self.verdicts.append(v)
                new.append(v)
        return new

    # -- reading -------------------------------------------------------------------------------
    def to_json(self, every: int) -> dict[str, Any]:
        """The health.json document (non-finite numbers become null)."""
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v
        return clean({"format": "chainrule-health/1", "every": int(every),
                      "layers": list(self.layers), "series": self.series,
                      "verdicts": [v.as_dict() for v in self.verdicts],
                      "thresholds": {name: getattr(T, name) for name in (
                          "VANISHING_RATIO", "EXPLODING_RATIO", "GROWTH_FACTOR",
                          "SATURATED_FRACTION", "DEAD_FRACTION", "LR_JUDGED_FROM",
                          "OVERFIT_RISE", "OVERFIT_NOISE", "OVERFIT_EPOCHS", "DIVERGENCE_FACTOR")},
                      "update_ratio_band": {k: list(b) for k, b in
                                            T.UPDATE_RATIO_BAND.items()},
                      "optimizer_family": self.family})

    def state_dict(self) -> dict:
        """What a resumed run needs: the series, the verdicts and the samples still open —
        the current epoch's (a checkpoint written mid-epoch, on Ctrl-C), the first one (the
        growth rule's reference) and the learning-rate window."""
        return {"layers": list(self.layers), "series": self.to_json(1)["series"],
                "verdicts": [v.as_dict() for v in self.verdicts],
                "epoch_samples": [_sample_state(s) for s in self.epoch_samples],
                "first": _sample_state(self.first) if self.first is not None else None,
                "lr_window": [_sample_state(s) for s in self.lr_window]}

    def load_state_dict(self, state: dict) -> None:
        self.layers = list(state.get("layers") or [])
        self.series = {k: {kk: list(vv) for kk, vv in v.items()}
                       for k, v in (state.get("series") or {}).items()}
        self.verdicts = [Verdict(**v) for v in state.get("verdicts") or []]
        self.epoch_samples = [_sample_from(s) for s in state.get("epoch_samples") or []]
        first = state.get("first")
        self.first = _sample_from(first) if first else self.first
        self.lr_window = [_sample_from(s) for s in state.get("lr_window") or []]


def _sample_state(sample: Sample) -> dict:
    """A :class:`Sample` as plain values (non-finite floats kept: checkpoints allow them)."""
    return {"step": sample.step, "epoch": sample.epoch, "lr": sample.lr,
            "layers": {name: asdict(stats) for name, stats in sample.layers.items()}}


def _sample_from(state: dict) -> Sample:
    layers = {}
    for name, raw in state["layers"].items():
        raw = dict(raw)
        raw["params"] = {k: ParamStats(**v) for k, v in (raw.get("params") or {}).items()}
        shape = raw.get("out_shape")
        raw["out_shape"] = tuple(shape) if shape is not None else None
        layers[name] = LayerStats(**raw)
    return Sample(int(state["step"]), state.get("epoch"), state.get("lr"), layers)
