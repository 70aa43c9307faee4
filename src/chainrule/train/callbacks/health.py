"""GradientHealth: the gradient-health monitor as a training callback.

One batch in ``every`` is measured by a :class:`~chainrule.train.health.LayerCollector`
(activations, δ, saturated and dead units, gradient norms) and, around its optimizer step, the
update ratio ‖ΔW‖/‖W‖ (the weights are copied only on measured batches). At the end of each
epoch the rules of :mod:`chainrule.train.health.verdicts` that read the sampled batches run; a
verdict that appears for the first time is printed as one warning line (stderr) and kept.
Overfitting is judged once, when training ends, on the whole history (a validation loss that
rose and recovered is no verdict). Every batch's loss is also
compared with the first batch's by the divergence check's rule
(:func:`~chainrule.train.has_diverged`, :data:`~chainrule.train.DIVERGENCE_FACTOR`): a
diverged loss gives a ``diverged`` verdict. Stopping the run is left to
:class:`~chainrule.train.TerminateOnDivergence` (``chainrule train`` has it); every verdict of
this callback only warns. When a TerminateOnDivergence is among the callbacks, it is the one
that reports a divergence (the CLI's one line), so the verdicts of a diverged run are recorded
(health.json) without warning lines.

With ``out_dir``, health.json and health.png are written when training ends (also after an
early stop, a divergence or Ctrl-C; a resumed run's checkpoint carries the series so far). A
second ``fit`` on the same trainer (continuing its epochs) extends the series and keeps the
verdicts. If ``fit`` raises, the collector's hooks are removed (``on_exception``) and nothing
is written. The batches measured in an epoch cut short by Ctrl-C are kept in the checkpoint
(the state holds the open epoch's samples), so a run resumed mid-epoch builds that epoch's
point from all of them, as an uninterrupted run would.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Callable

from ..divergence import DIVERGENCE_FACTOR
from .base import Callback

__all__ = ["GradientHealth"]


def _check_every(every) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"GradientHealth: every must be a positive integer (batches between "
                         f"measurements), got {every!r}")
    return every


class GradientHealth(Callback):
    """Measure one batch in ``every`` and warn about unhealthy gradients (see the module
    docstring). ``warn``: True prints each new verdict to stderr, False stays silent, a
    function receives the line. ``verdicts`` and ``record`` (series per layer) hold the
    results; ``document()`` is the health.json content."""

    order = 60  # after schedules (10) and early stopping (20), before loggers and checkpoints
    rank_zero_only = True  # under mpiexec: only rank 0 prints and writes

    def __init__(self, every: int | None = None, out_dir: str | Path | None = None,
                 warn: bool | Callable[[str], None] = True, plot: bool = True):
        from ..health import thresholds as T
        self.every = _check_every(T.DEFAULT_EVERY if every is None else every)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.warn, self.plot = warn, plot
        self.record = None
        self.reference: float | None = None
        self._col = self._collector = None
        self._sample = None
        self._last_sample = None
        self._quiet_divergence = False
        self._state: dict | None = None
        self.files: list[Path] = []

    @property
    def verdicts(self) -> list:
        return list(self.record.verdicts) if self.record is not None else []

    # -- the run ---------------------------------------------------------------------------------
    def on_train_begin(self, trainer) -> None:
        from ..divergence import TerminateOnDivergence
        from ..health import HealthRecord, optimizer_family
        # Where TerminateOnDivergence stops the run it also reports it (chainrule train prints
        # its one line): the verdicts of a diverged run are then recorded without warnings.
        self._quiet_divergence = any(isinstance(cb, TerminateOnDivergence)
                                     for cb in trainer.callbacks)
        groups = getattr(trainer.optimizer, "param_groups", None) or [{}]
        lr0 = groups[0].get("initial_lr", groups[0].get("lr"))
        earlier = self.record
        self.record = HealthRecord(optimizer_family(trainer.optimizer),
                                   float(lr0) if lr0 is not None else None)
        if self._state:
            self.record.load_state_dict(self._state)
            self._state = None
        elif earlier is not None and trainer.epoch > 0:
            # a second fit on the same trainer continues its run: keep the series so far
            self.record.load_state_dict(earlier.state_dict())
            self.record.first = earlier.first
        from ..health import LayerCollector
        self._collector = LayerCollector(trainer.model)  # reads the model's layers once

    def on_batch_begin(self, trainer, batch: int) -> None:
        if trainer.global_step % self.every == 0 and self._collector is not None:
            self._col = self._collector
            self._col.open()

    def after_backward(self, trainer) -> None:
        if self._col is None:
            return
        from ..health import Sample
        groups = getattr(trainer.optimizer, "param_groups", None) or [{}]
        lr = groups[0].get("lr")
        self._sample = Sample(trainer.global_step, trainer.epoch + 1,
                              float(lr) if lr is not None else None, self._col.stats())
        self._col.snapshot_weights()

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        loss = float(logs["loss"])
        if self._col is not None:
            col, self._col = self._col, None
            if self._sample is not None:
                col.measure_update()
                for name, ratios in col.update_ratios().items():
                    params = self._sample.layers[name].params
                    for pname, ratio in ratios.items():
                        params[pname].update_ratio = ratio
                self.record.add(self._sample)
                self._last_sample = self._sample
            col.close()
            self._sample = None
        self._watch_loss(trainer, loss)

    def _watch_loss(self, trainer, loss: float) -> None:
        if self.reference is not None and math.isfinite(loss) and \
                loss <= DIVERGENCE_FACTOR * self.reference:
            return  # the every-batch case: nothing to look at
        from ..divergence import has_diverged
        from ..health.verdicts import divergence_verdict, nonfinite_loss_verdict
        step, epoch = trainer.global_step - 1, trainer.epoch + 1
        found = []
        if not math.isfinite(loss):
            if not any(v.kind == "exploding" for v in self.record.verdicts):
                measured = self._last_sample
                if measured is not None and measured.step == step:  # this batch: say where
                    from ..health.verdicts import batch_verdicts
                    found = [v for v in batch_verdicts([measured]) if v.kind == "exploding"]
                found = found or [nonfinite_loss_verdict(
                    loss, self._first_nonfinite_layer(trainer), epoch, step)]
        elif self.reference is None:
            self.reference = loss
        elif has_diverged(loss, self.reference):
            found = [divergence_verdict(loss, self.reference, epoch, step)]
        new = self.record.add_verdicts(found)
        if not self._quiet_divergence:
            self._announce(new, epoch)

    @staticmethod
    def _first_nonfinite_layer(trainer) -> str | None:
        import numpy as np
        from ..health import layer_modules
        for name, layer in layer_modules(trainer.model):
            if any(not np.isfinite(p._data).all() for p in layer.parameters(recurse=False)):
                return name
        return None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self._announce(self.record.end_epoch(epoch), epoch)

    def _release(self) -> None:
        """Remove the collector's hooks from the model (a measured batch may be open)."""
        if self._col is not None:
            self._col.close()
            self._col = None
        if self._collector is not None:
            self._collector.close()
        self._sample = None

    def on_exception(self, trainer, error: BaseException) -> None:
        """fit is failing (the loss raised on a measured step, ...): no hook stays on the
        model. Nothing is written: the run did not end."""
        self._release()

    def on_train_end(self, trainer) -> None:
        self._release()            # stopped between backward and the batch's end
        if self.record is None:
            return
        diverged = trainer.history.stop_reason in ("nan", "diverged")
        quiet = diverged and self._quiet_divergence
        if self.record.epoch_samples:  # an epoch cut short (divergence, interrupt)
            new = self.record.end_epoch(trainer.epoch + 1)
            if not quiet:
                self._announce(new, trainer.epoch + 1)
        new = self.record.judge_history(list(trainer.history))
        if not quiet:
            self._announce(new, trainer.epoch)
        self._write()

    # -- output ----------------------------------------------------------------------------------
    def _announce(self, verdicts: list, epoch: int) -> None:
        """One line per new verdict, naming the epoch in which it was found."""
        if not verdicts or self.warn is False:
            return
        for v in verdicts:
            line = f"health: epoch {epoch}: {v.line()} (remedy: {v.remedy})"
            if callable(self.warn):
                self.warn(line)
            else:
                print(line, file=sys.stderr, flush=True)

    def document(self) -> dict:
        """The health.json content so far."""
        from ..health import HealthRecord
        return (self.record or HealthRecord()).to_json(self.every)

    def _write(self) -> None:
        if self.out_dir is None:
            return
        from ..health.files import HEALTH_JSON, HEALTH_PNG, plot_health, write_health_json
        doc = self.document()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        files = [write_health_json(doc, self.out_dir / HEALTH_JSON)]
        if self.plot:
            try:
                files.append(plot_health(doc, self.out_dir / HEALTH_PNG))
            except ImportError as exc:
                print(f"health: note: no {HEALTH_PNG} ({exc})", file=sys.stderr)
        self.files = files

    # -- resuming --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = self.record.state_dict() if self.record is not None else {}
        if self.reference is not None:
            state["reference"] = self.reference
        return state

    def load_state_dict(self, state: dict) -> None:
        ref = state.get("reference")
        self.reference = float(ref) if ref is not None else None
        self._state = dict(state)
        if self.record is not None:
            self.record.load_state_dict(self._state)
            self._state = None
