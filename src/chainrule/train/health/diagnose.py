"""``diagnose(model, batch, loss_fn)``: the health monitor on one batch, outside ``fit``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .collector import LayerCollector, LayerStats
from .verdicts import Sample, Verdict, batch_verdicts

__all__ = ["diagnose", "Diagnosis"]


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


@dataclass
class Diagnosis:
    """What :func:`diagnose` found: ``layers`` (name -> :class:`LayerStats`, in the order they
    ran), ``verdicts`` (empty for a healthy batch) and the batch's ``loss``. ``print()`` it
    for a table."""

    loss: float
    layers: dict[str, LayerStats]
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.verdicts

    def __str__(self) -> str:
        head = (f"{'layer':<16} {'kind':<12} {'act mean':>9} {'act std':>9} {'‖δ‖':>9} "
                f"{'‖∇W‖':>9} {'‖∇W‖/‖W‖':>9} {'saturated':>9} {'dead':>6}")
        rows = [f"loss {self.loss:.4g}", head]
        for s in self.layers.values():
            p = s._main()
            rows.append(f"{s.name[:16]:<16} {s.kind[:12]:<12} {_g(s.act_mean):>9} "
                        f"{_g(s.act_std):>9} {_g(s.delta_norm):>9} {_g(s.grad_norm):>9} "
                        f"{_g(p.grad_to_weight if p else None):>9} {_g(s.saturated):>9} "
                        f"{_g(s.dead):>6}")
        rows += [str(v) for v in self.verdicts] or ["no verdict: the gradients look healthy"]
        return "\n".join(rows)


def diagnose(model: Any, batch: Any, loss_fn: Callable) -> Diagnosis:
    """Run one forward and backward pass of ``loss_fn(model(x), y)`` on ``batch`` (an
    ``(x, y)`` pair, or ``(*inputs, y)``) with the collector on, and judge it by the rules that
    need a single batch: vanishing or exploding δ (first-to-last ratio), non-finite values,
    saturated and dead units. Gradients are accumulated into ``.grad`` as any backward
    does (zero them first for clean numbers); no optimizer step is taken."""
    from ..evaluation import check_scalar_loss, unpack_batch
    if not callable(loss_fn):
        raise TypeError(f"diagnose: loss_fn must be callable, got {type(loss_fn).__name__}")
    inputs, target = unpack_batch(batch, "diagnose")
    with LayerCollector(model) as col:
        loss = check_scalar_loss(loss_fn(model(*inputs), target), "diagnose")
        loss.backward()
    layers = col.stats()
    return Diagnosis(float(loss.item()), layers,
                     batch_verdicts([Sample(0, None, None, layers)]))
