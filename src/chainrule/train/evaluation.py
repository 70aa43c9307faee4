"""``evaluate``: the loss and metrics of a model over a whole data set, in eval mode and
without building a graph — the notes' "training loss / test loss, training / test error rate"
measured after each epoch.

loss = (1/N) Σ_batches B·L_batch, so for a loss that averages over its batch (``reduction=
'mean'``, the default) this is exactly the mean per-sample loss over the data set.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .metrics import Metric, resolve_metrics

__all__ = ["evaluate", "unpack_batch", "batch_size_of", "eval_loader", "check_scalar_loss",
           "model_device"]


def _as_tensor(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return Tensor(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_as_tensor(v) for v in x)
    return x


def model_device(model: Any):
    """The GPU device ``model``'s parameters are on, or None when they are on the CPU (or it
    has none): the device batches must be moved to."""
    for p in getattr(model, "parameters", lambda: ())():
        return None if isinstance(p._data, np.ndarray) else p.device
    return None


def _to(x: Any, device) -> Any:
    if isinstance(x, Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to(v, device) for v in x)
    return x


def unpack_batch(batch: Any, who: str, device=None) -> tuple[tuple, Any]:
    """``(inputs, target)`` → ``((inputs,), target)``; ``(x1, x2, ..., target)`` →
    ``((x1, x2, ...), target)`` for models with several inputs. NumPy arrays become Tensors,
    moved to ``device`` when one is given (the model's GPU)."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        what = type(batch).__name__
        if isinstance(batch, (tuple, list)):
            what += f" of length {len(batch)}"
        raise TypeError(f"{who}: each batch must be an (inputs, targets) pair, got {what}")
    *inputs, target = batch
    if device is not None:
        return tuple(_to(_as_tensor(x), device) for x in inputs), _to(_as_tensor(target), device)
    return tuple(_as_tensor(x) for x in inputs), _as_tensor(target)


def check_scalar_loss(loss: Any, who: str) -> Any:
    """``loss`` if it is one number; otherwise a ValueError naming its shape (a loss built
    with ``reduction='none'`` gives one value per sample, which the loop cannot step on)."""
    shape = tuple(getattr(loss, "shape", ()))
    if shape and int(np.prod(shape)) != 1:
        raise ValueError(f"{who}: loss_fn must return one number per batch (its mean), got "
                         f"shape {shape}; use reduction='mean' (or 'sum')")
    return loss


def batch_size_of(target: Any) -> int:
    shape = getattr(target, "shape", None)
    if shape:
        return int(shape[0])
    return len(target) if hasattr(target, "__len__") else 1


def _array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x._data
        return x if isinstance(x, np.ndarray) else x.get()   # metrics count on the host
    return np.asarray(x)


def eval_loader(loader: Iterable, batch_size: int | None = None) -> Iterable:
    """A loader that visits the same samples in order for evaluation, without touching the
    training loader's shuffling generator or its resume state. For a chainrule DataLoader a
    non-shuffling twin over its dataset (``batch_size`` defaults to max(its batch size, 256);
    its per-sample random streams follow the training loader's, see
    :meth:`~chainrule.data.DataLoader.evaluation_twin`);
    any other iterable is returned as is."""
    from ..data import DataLoader
    if not isinstance(loader, DataLoader) or loader.batch_size is None:
        return loader
    return loader.evaluation_twin(batch_size or max(loader.batch_size, 256))


def evaluate(model: Callable, loader: Iterable, loss_fn: Callable | None = None,
             metrics: Sequence[Metric | str | Callable] | str | None = ("accuracy",)
             ) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over every batch of ``loader``.

    Runs in eval mode (restoring the model's previous mode afterwards) under ``no_grad``.
    Returns e.g. ``{'loss': 0.31, 'accuracy': 0.91, 'error_rate': 0.09, 'samples': 600}``.
    """
    metric_objs = resolve_metrics(metrics)
    for m in metric_objs:
        m.reset()
    was_training = getattr(model, "training", None)
    if hasattr(model, "eval"):
        model.eval()
    total, count = 0.0, 0
    device = model_device(model)
    try:
        with no_grad():
            for batch in loader:
                inputs, target = unpack_batch(batch, "evaluate", device)
                output = model(*inputs)
                n = batch_size_of(target)
                if loss_fn is not None:
                    loss = check_scalar_loss(loss_fn(output, target), "evaluate")
                    total += float(loss.item() if hasattr(loss, "item") else loss) * n
                if metric_objs:
                    out_a, tgt_a = _array(output), _array(target)
                    for m in metric_objs:
                        m.update(out_a, tgt_a)
                count += n
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches")
    result: dict[str, float] = {}
    if loss_fn is not None:
        result["loss"] = total / count
    for m in metric_objs:
        result.update(m.compute())
    result["samples"] = count
    return result
