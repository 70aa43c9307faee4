"""From per-layer statistics to verdicts: each rule reads the sampled batches (or the
history) and says what is wrong, where, with the numbers that show it and what to do.

Every threshold is a named constant of :mod:`.thresholds`. A healthy run gets no verdict.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any, Iterable, Sequence

from .collector import LayerStats
from . import thresholds as T

__all__ = ["Verdict", "Sample", "KINDS", "REMEDIES", "batch_verdicts", "growth_verdict",
           "lr_verdicts", "overfitting_verdict", "divergence_verdict", "nonfinite_loss_verdict",
           "delta_ratio", "explain_away"]

KINDS = ("diverged", "exploding", "vanishing", "saturated", "dead", "lr_too_high",
         "lr_too_low", "overfitting")

# What the notes advise for each (written for this project).
REMEDIES = {
    "vanishing": "keep the signal's scale through depth: a scale-preserving initialisation "
                 "(Xavier/Glorot for tanh and sigmoid, He/Kaiming for ReLU: --init "
                 "kaiming_normal), a non-saturating activation such as ReLU, batch "
                 "normalisation (--batch-norm) or skip connections (--model resmlp)",
    "exploding": "clip the gradient norm (--clip-grad-norm 1), lower the learning rate, add "
                 "batch normalisation (--batch-norm) and use a scale-preserving "
                 "initialisation (Xavier for tanh, He for ReLU)",
    "diverged": "lower the learning rate (--lr, by 10x) and clip the gradient norm "
                "(--clip-grad-norm 1)",
    "saturated": "shrink the initial weights (Xavier/Glorot: --init xavier_normal), "
                 "normalise the inputs or add batch normalisation (--batch-norm), or use a "
                 "non-saturating activation (--activation relu)",
    "dead": "use He initialisation (--init kaiming_normal) and a smaller learning rate, avoid "
            "large negative biases, or an activation without a flat side (--activation "
            "leaky_relu or elu)",
    "lr_too_high": "lower the learning rate (--lr, by 3-10x) or warm it up; clipping the "
                   "gradient norm (--clip-grad-norm) limits the damage of single steps",
    "lr_too_low": "raise the learning rate (--lr, by 3-10x): the weights hardly move",
    "overfitting": "more data, early stopping (--early-stopping 5), an L2 or L1 penalty (--l2 "
                   "1e-4), or more dropout (--dropout 0.3)",
}


@dataclass
class Verdict:
    """One finding: ``kind`` (one of :data:`KINDS`), the ``layer`` it names (or None), the
    ``epoch`` and ``step`` where it was first seen, the ``evidence`` (numbers) and the
    ``remedy``."""

    kind: str
    layer: str | None
    epoch: int | None
    step: int | None
    evidence: str
    remedy: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """A one-line warning."""
        where = f" at layer '{self.layer}'" if self.layer is not None else ""
        return f"{self.kind.replace('_', ' ')}{where}: {self.evidence}"

    def __str__(self) -> str:
        return f"{self.line()}\n    remedy: {self.remedy}"


@dataclass
class Sample:
    """One measured batch: the optimizer ``step`` it was (0-based), its ``epoch`` (1-based),
    the learning rate it was taken with and each layer's :class:`LayerStats`."""

    step: int
    epoch: int | None
    lr: float | None
    layers: dict[str, LayerStats]


def _verdict(kind: str, layer: str | None, at: Sample | None, evidence: str) -> Verdict:
    return Verdict(kind, layer, at.epoch if at else None, at.step if at else None, evidence,
                   REMEDIES[kind])


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def delta_ratio(sample: Sample) -> tuple[str, str, float] | None:
    """(first layer, last layer, ‖δ_first‖/‖δ_last‖) of one batch; None with fewer than two
    layers that received a δ, or a last δ of 0 (nothing to compare with)."""
    got = [(n, s.delta_norm) for n, s in sample.layers.items() if s.delta_norm is not None]
    if len(got) < 2:
        return None
    (first, d0), (last, d1) = got[0], got[-1]
    if not (_finite(d0) and _finite(d1)) or d1 == 0:
        return None
    return first, last, d0 / d1


def _nonfinite(sample: Sample) -> tuple[str, str] | None:
    """(layer, what) where a non-finite value started: a non-finite weight first (the cause
    of all that follows it), then forward values (in the order the layers ran), then δ
    (backward runs from the last layer, so the last non-finite δ is the first one computed),
    then parameter gradients."""
    layers = list(sample.layers.values())
    for s in layers:
        for pname, p in s.params.items():
            if not math.isfinite(p.weight_norm):
                return s.name, f"its {pname}"
    for s in layers:
        for what in ("act_mean", "act_std"):
            v = getattr(s, what)
            if v is not None and not math.isfinite(v):
                return s.name, "its output (forward pass)"
    for s in reversed(layers):
        if s.delta_norm is not None and not math.isfinite(s.delta_norm):
            return s.name, "δ, the gradient at its output"
    for s in layers:
        for pname, p in s.params.items():
            if p.grad_norm is not None and not math.isfinite(p.grad_norm):
                return s.name, f"the gradient of its {pname}"
    return None


def _fraction_rule(kind: str, samples: Sequence[Sample], field: str, limit: float,
                   what: str) -> Verdict | None:
    per_layer: dict[str, list[float]] = {}
    for smp in samples:
        for name, s in smp.layers.items():
            v = getattr(s, field)
            if v is not None:
                per_layer.setdefault(name, []).append(v)
    bad = [(n, median(v)) for n, v in per_layer.items() if median(v) > limit]
    if not bad:
        return None
    name, frac = bad[0]
    worst = max(bad, key=lambda b: b[1])
    act = samples[0].layers[name].activation
    evidence = (f"{100 * frac:.0f}% of the units after it ({act}) are {what} (limit "
                f"{100 * limit:.0f}%); {len(bad)} of {len(per_layer)} such layers are over the "
                f"limit, the worst '{worst[0]}' at {100 * worst[1]:.0f}%")
    return _verdict(kind, name, samples[0], evidence)


def batch_verdicts(samples: Sequence[Sample]) -> list[Verdict]:
    """The verdicts one group of sampled batches (an epoch's, or a single diagnosed batch)
    gives on its own: non-finite values, the first-to-last δ ratio (vanishing / exploding),
    saturated and dead units."""
    if not samples:
        return []
    out: list[Verdict] = []
    for smp in samples:
        bad = _nonfinite(smp)
        if bad is not None:
            out.append(_verdict("exploding", bad[0], smp,
                                f"non-finite values (inf/NaN) first appear in {bad[1]} at step "
                                f"{smp.step}"))
            break
    ratios = [(smp, r) for smp in samples if (r := delta_ratio(smp)) is not None]
    if ratios:
        first, last, _ = ratios[0][1]
        mid = median(r[2] for _, r in ratios)
        smp = ratios[0][0]
        d0 = median(s.layers[first].delta_norm for s, _ in ratios)
        d1 = median(s.layers[last].delta_norm for s, _ in ratios)
        bias = [s.layers[first].bias_grad_norm for s, _ in ratios]
        bias_text = (f"; its bias gradient ‖∇b‖ = {_g(median(bias))}"
                     if all(b is not None for b in bias) else "")
        def evidence(bound: str) -> str:
            return (f"‖δ‖ at the output of '{first}' is {_g(d0)} against {_g(d1)} at the last "
                    f"layer '{last}': ratio {_g(mid)}, {bound} (median of {len(ratios)} "
                    f"sampled batch{'es' if len(ratios) > 1 else ''}){bias_text}")
        if mid < T.VANISHING_RATIO:
            out.append(_verdict("vanishing", first, smp,
                                evidence(f"below {T.VANISHING_RATIO:g}")))
        elif mid > T.EXPLODING_RATIO and not any(v.kind == "exploding" for v in out):
            out.append(_verdict("exploding", first, smp,
                                evidence(f"above {T.EXPLODING_RATIO:g}")))
    for kind, field, limit, what in (("saturated", "saturated", T.SATURATED_FRACTION,
                                      "saturated"),
                                     ("dead", "dead", T.DEAD_FRACTION, "dead (0 for every "
                                      "example of the batch)")):
        v = _fraction_rule(kind, samples, field, limit, what)
        if v is not None:
            out.append(v)
    return explain_away(out)


def explain_away(found: list[Verdict], known: Sequence[Verdict] = ()) -> list[Verdict]:
    """Drop a vanishing verdict that dead units explain: a layer whose ReLUs are all dead
    passes no gradient back, so every δ before it is 0 — the dead verdict names the cause
    (its evidence says so)."""
    dead = next((v for v in list(known) + found if v.kind == "dead"), None)
    vanish = next((v for v in found if v.kind == "vanishing"), None)
    if dead is None or vanish is None:
        return found
    if dead in found:
        dead.evidence += (f"; the gradient reaching the layers before it vanishes (‖δ‖ at "
                          f"'{vanish.layer}' over ‖δ‖ at the last layer is below "
                          f"{T.VANISHING_RATIO:g})")
    return [v for v in found if v is not vanish]


def _total_grad(smp: Sample) -> float | None:
    sq, seen = 0.0, False
    for s in smp.layers.values():
        for p in s.params.values():
            if p.grad_norm is not None:
                sq += p.grad_norm ** 2
                seen = True
    return math.sqrt(sq) if seen else None


def growth_verdict(first: Sample | None, samples: Sequence[Sample]) -> Verdict | None:
    """Exploding over steps: a sampled batch whose total gradient norm is
    :data:`~.thresholds.GROWTH_FACTOR` times the first sampled batch's; names the layer whose
    weight gradient grew the most."""
    if first is None:
        return None
    g0 = _total_grad(first)
    if not _finite(g0) or g0 == 0:
        return None
    for smp in samples:
        g = _total_grad(smp)
        if _finite(g) and g > T.GROWTH_FACTOR * g0:
            growth = {}
            for name, s in smp.layers.items():
                a, b = first.layers.get(name), s.grad_norm
                if a is not None and _finite(a.grad_norm) and a.grad_norm > 0 and _finite(b):
                    growth[name] = b / a.grad_norm
            layer = max(growth, key=growth.get) if growth else None
            return _verdict("exploding", layer, smp,
                            f"the gradient norm grew from {_g(g0)} at step {first.step} to "
                            f"{_g(g)} at step {smp.step} ({_g(g / g0)}x, limit "
                            f"{T.GROWTH_FACTOR:g}x)")
    return None


def _moved(ratio: float | None) -> bool:
    """A finite, non-zero update ratio: a weight that received no gradient at all (a dead
    layer blocks it, or it is frozen) says nothing about the learning rate."""
    return _finite(ratio) and ratio > 0


def _typical_update(smp: Sample) -> float | None:
    """The median over layers of the weights' update ratio (layers that moved)."""
    got = [s.update_ratio for s in smp.layers.values() if _moved(s.update_ratio)]
    return median(got) if got else None


def lr_verdicts(samples: Sequence[Sample], family: str | None,
                initial_lr: float | None) -> list[Verdict]:
    """Learning rate too high / too low: the median over the last :data:`~.thresholds.LR_WINDOW`
    sampled steps of the median layer's ‖ΔW‖/‖W‖ lies outside the family's band ("too low"
    counts only steps whose lr is at least :data:`~.thresholds.LR_JUDGED_FROM` of the
    initial lr). Names the layer with the most extreme median ratio."""
    if family not in T.UPDATE_RATIO_BAND:
        return []
    low, high = T.UPDATE_RATIO_BAND[family]
    out = []
    for kind, keep in (("lr_too_high", lambda s: True),
                       ("lr_too_low", lambda s: initial_lr is None or s.lr is None
                        or s.lr >= T.LR_JUDGED_FROM * initial_lr)):
        window = [s for s in samples if keep(s) and _typical_update(s) is not None]
        window = window[-T.LR_WINDOW:]
        if len(window) < T.LR_MIN_SAMPLES:
            continue
        typical = median(_typical_update(s) for s in window)
        per_layer: dict[str, list[float]] = {}
        for s in window:
            for n, st in s.layers.items():
                if _moved(st.update_ratio):
                    per_layer.setdefault(n, []).append(st.update_ratio)
        meds = {n: median(v) for n, v in per_layer.items()}
        if kind == "lr_too_high" and typical > high:
            layer = max(meds, key=meds.get)
            bound = f"above the {family} band's high end {high:g}"
        elif kind == "lr_too_low" and typical < low:
            layer = min(meds, key=meds.get)
            bound = f"below the {family} band's low end {low:g}"
        else:
            continue
        out.append(_verdict(kind, layer, window[-1],
                            f"the update ratio ‖ΔW‖/‖W‖ is {_g(typical)} per step (median over "
                            f"{len(window)} sampled steps and the layers; '{layer}' "
                            f"{_g(meds[layer])}), {bound}"))
    return out


def _trailing_median(values: list[float], width: int) -> list[float]:
    """m_i = median(v_{i−width+1} … v_i) (fewer at the start)."""
    return [median(values[max(0, i - width + 1):i + 1]) for i in range(len(values))]


def _epoch_to_epoch_spread(values: list[float]) -> float:
    """The noise of the validation estimate, from the history alone: the median of
    |v_i − v_{i−1}| over the run (per-item losses are not kept). It also counts real
    progress, so it errs on the large side: the rule asks more, never less."""
    diffs = [abs(b - a) for a, b in zip(values, values[1:])]
    return median(diffs) if diffs else 0.0


def overfitting_verdict(history: Iterable[dict]) -> Verdict | None:
    """Overfitting, judged on the whole history (call it when training ends): the validation
    loss v, smoothed by a trailing median of :data:`~.thresholds.OVERFIT_SMOOTHING` epochs, ends
    above its minimum v* by a margin that is both relative and above the noise —
    v_end − v* > max(:data:`~.thresholds.OVERFIT_RISE`·v*,
    :data:`~.thresholds.OVERFIT_NOISE`·spread), spread the epoch-to-epoch spread of v —
    and has stayed more than half that margin above v* over each of the last
    :data:`~.thresholds.OVERFIT_EPOCHS` epochs (a rise that recovers is noise), while the
    training loss fell and the gap v − train loss widened by more than the margin. ``epoch``
    is the first epoch after the minimum, where the gap opened."""
    rows = [r for r in history if _finite(r.get("val_loss"))]
    if len(rows) < T.OVERFIT_EPOCHS + 1:
        return None
    train_key = "train_loss" if all(_finite(r.get("train_loss")) for r in rows) \
        else "train_running_loss"
    if not all(_finite(r.get(train_key)) for r in rows):
        return None
    raw = [r["val_loss"] for r in rows]
    val = _trailing_median(raw, T.OVERFIT_SMOOTHING)
    best = min(range(len(rows)), key=lambda i: val[i])
    if len(rows) - 1 - best < T.OVERFIT_EPOCHS:
        return None
    spread = _epoch_to_epoch_spread(raw)
    margin = max(T.OVERFIT_RISE * val[best], T.OVERFIT_NOISE * spread)
    last, first = rows[-1], rows[best]
    ended_above = val[-1] > val[best] + margin
    sustained = all(v > val[best] + margin / 2 for v in val[-T.OVERFIT_EPOCHS:])
    train_fell = last[train_key] < first[train_key]
    gap_widened = (raw[-1] - last[train_key]) - (raw[best] - first[train_key]) > margin
    if not (ended_above and sustained and train_fell and gap_widened):
        return None
    opened = rows[best + 1].get("epoch", best + 2)
    return Verdict("overfitting", None, opened, None,
                   f"the validation loss (median of {T.OVERFIT_SMOOTHING} epochs) rose from "
                   f"its minimum {val[best]:.4g} at epoch {first.get('epoch', best + 1)} "
                   f"to {val[-1]:.4g} at epoch {last.get('epoch', len(rows))} (a rise of "
                   f"{val[-1] - val[best]:.3g}, over the margin {margin:.3g}: the larger of "
                   f"{100 * T.OVERFIT_RISE:g}% of the minimum and {T.OVERFIT_NOISE:g} times "
                   f"the epoch-to-epoch spread {spread:.3g}) while the training loss "
                   f"({train_key}) fell from {first[train_key]:.4g} to "
                   f"{last[train_key]:.4g}; the gap opened at epoch {opened}",
                   REMEDIES["overfitting"])


def divergence_verdict(loss: float, reference: float, epoch: int | None,
                       step: int | None) -> Verdict:
    """A loss that grew past DIVERGENCE_FACTOR times the first batch's (the divergence
    check's constant, :data:`chainrule.train.DIVERGENCE_FACTOR`)."""
    return Verdict("diverged", None, epoch, step,
                   f"the minibatch loss reached {loss:.3g}, over {T.DIVERGENCE_FACTOR:g} times "
                   f"the first batch's {reference:.3g}", REMEDIES["diverged"])


def nonfinite_loss_verdict(loss: float, layer: str | None, epoch: int | None,
                           step: int | None) -> Verdict:
    """A non-finite loss on a batch the monitor did not measure: ``layer`` is the first layer
    whose weights became non-finite, if any."""
    where = (f"; the first layer with non-finite weights after the step is '{layer}'"
             if layer is not None else "")
    return Verdict("exploding", layer, epoch, step,
                   f"the minibatch loss is {loss} at step {step}{where}",
                   REMEDIES["exploding"])
