"""Per-layer statistics of one training batch, gathered through hooks.

A :class:`LayerCollector` watches every *layer* of a model — each ``Linear``, convolution and
normalisation module, named as ``model.named_modules()`` names it — while one forward and one
backward pass run::

    with LayerCollector(model) as col:
        loss = loss_fn(model(x), y)
        loss.backward()
    stats = col.stats()          # name -> LayerStats, in the order the layers ran

What it measures, per layer:

* the activation's mean and standard deviation — the output of the nonlinearity that follows
  the layer when one does (see below), else the layer's own output;
* ‖δ‖, the Frobenius norm of δ = ∂L/∂y, the gradient of the loss with respect to the layer's
  output y (a hook on the output tensor);
* the fraction of saturated units when a tanh (|a| > 0.97) or a sigmoid (a outside
  [0.03, 0.97]) follows, over all elements of the batch;
* the fraction of dead units when a ReLU follows: a unit is dead when its output is 0 for every
  example of the batch (a feature of a ``Linear``; a channel — every position — of a conv);
* for each parameter, ‖∇W‖, ‖W‖ and their ratio (post-accumulate gradient hooks: the gradient
  is read once backward has finished: at its end, after DistributedDataParallel has written the
  ranks' averaged gradients back, so under ``mpiexec`` it is the global gradient's norm), and,
  when the training callback
  fills it in, the update ratio ‖ΔW‖/‖W‖ of the optimizer step just taken.

Which nonlinearity follows a layer: in a ``Sequential`` (at any depth), the module right after
the layer, when it is a ``Tanh``, ``Sigmoid`` or ``ReLU`` module (a ``Linear`` followed by a
``BatchNorm1d`` and a ``ReLU`` gives the ReLU's statistics to the norm layer, which is the
layer it follows). The collector applies that function to the layer's output itself rather
than hooking the activation module, so one module shared by several layers gives each layer
its own numbers. Elsewhere — a custom ``forward`` that calls ``torch.tanh`` or
``F.relu`` — the order of calls is not visible to hooks, so no nonlinearity is attributed:
``activation``, ``saturated`` and ``dead`` are None and the activation statistics are those
of the layer's output.

Norms fall back to float64 where float32 squares would under- or overflow, so a δ of 1e-25
still measures as 1e-25 rather than 0. A layer called twice in one forward (shared weights) reports
the mean activation statistics of its calls and the norm of its δ's taken together.

Under ``mpiexec -n N`` (fit's GradientHealth runs on rank 0) the gradient norms are global,
while the activation statistics, saturated and dead fractions and ‖δ‖ are those of rank 0's
share of the global batch (‖δ‖ of the loss rank 0 back-propagates, n₀·L₀, not divided by the
global count).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .structure import following_activations, is_layer, layer_modules

__all__ = ["LayerCollector", "LayerStats", "ParamStats", "layer_modules", "SATURATION_TANH",
           "SATURATION_SIGMOID", "is_layer"]

SATURATION_TANH = 0.97
"""A tanh unit is saturated when |tanh(z)| > 0.97 (there tanh'(z) = 1 − a² < 0.06)."""
SATURATION_SIGMOID = (0.03, 0.97)
"""A sigmoid unit is saturated outside [0.03, 0.97] (there σ'(z) = a(1 − a) < 0.03)."""


# Below this (or at inf), a float32 sum of squares may have underflowed or overflowed.
_SAFE_SQUARES = (1e-30, 1e30)


def _host(array: Any) -> np.ndarray:
    """``array`` on the host: a GPU array is copied (only on the batches the monitor samples)."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if callable(get) else np.asarray(array)


def _norm(array: Any) -> float:
    """‖a‖ (Frobenius): a sum of squares in the array's own precision, redone in float64 when
    it lands where float32 squares under- or overflow (a δ of 1e-25 squares to 0 in float32)."""
    a = _host(array)
    if a.size == 0:
        return 0.0
    flat = a.reshape(-1)
    sq = float(np.dot(flat, flat))
    if not (_SAFE_SQUARES[0] < sq < _SAFE_SQUARES[1]) and flat.dtype != np.float64:
        wide = flat.astype(np.float64)
        sq = float(np.dot(wide, wide))
    return math.sqrt(sq)


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None:
        return None
    if den == 0:
        return math.inf if num > 0 else (0.0 if num == 0 else math.nan)
    return num / den


@dataclass
class ParamStats:
    """One parameter's numbers: ‖∇W‖, ‖W‖, ‖∇W‖/‖W‖ and the step's ‖ΔW‖/‖W‖ (None until the
    callback measures a step)."""

    grad_norm: float | None
    weight_norm: float
    grad_to_weight: float | None
    update_ratio: float | None = None


@dataclass
class LayerStats:
    """One layer's numbers for one batch (see the module docstring for each)."""

    name: str
    kind: str
    out_shape: tuple[int, ...] | None
    activation: str | None
    act_mean: float | None
    act_std: float | None
    delta_norm: float | None
    saturated: float | None
    dead: float | None
    params: dict[str, ParamStats] = field(default_factory=dict)
    calls: int = 0

    def _main(self) -> ParamStats | None:
        if "weight" in self.params:
            return self.params["weight"]
        return next(iter(self.params.values()), None)

    @property
    def grad_norm(self) -> float | None:
        """‖∇W‖ of the layer's weight (its first parameter when it has no ``weight``)."""
        p = self._main()
        return p.grad_norm if p is not None else None

    @property
    def bias_grad_norm(self) -> float | None:
        """‖∇b‖: the bias gradient, the batch-sum of δ (None without a bias)."""
        p = self.params.get("bias")
        return p.grad_norm if p is not None else None

    @property
    def update_ratio(self) -> float | None:
        """‖ΔW‖/‖W‖ of the layer's weight in the last measured step."""
        p = self._main()
        return p.update_ratio if p is not None else None

    def as_dict(self) -> dict:
        """A plain-dict copy (JSON-ready apart from non-finite floats)."""
        d = {k: getattr(self, k) for k in ("name", "kind", "activation", "act_mean", "act_std",
                                           "delta_norm", "saturated", "dead", "calls")}
        d["out_shape"] = list(self.out_shape) if self.out_shape is not None else None
        d["grad_norm"], d["update_ratio"] = self.grad_norm, self.update_ratio
        d["params"] = {k: vars(p).copy() for k, p in self.params.items()}
        return d


class _Record:
    """What the hooks saw of one layer during the collection."""

    __slots__ = ("order", "shape", "means", "stds", "saturated", "dead", "delta_sq",
                 "deltas", "activation")

    def __init__(self, activation: str | None):
        self.activation = activation
        self.order: int | None = None
        self.shape: tuple[int, ...] | None = None
        self.means: list[float] = []
        self.stds: list[float] = []
        self.saturated: list[float] = []
        self.dead: list[float] = []
        self.delta_sq = 0.0
        self.deltas = 0


def _saturated_fraction(kind: str, a: np.ndarray) -> float | None:
    if kind == "tanh":
        return float(np.count_nonzero(np.abs(a) > SATURATION_TANH)) / a.size
    if kind == "sigmoid":
        lo, hi = SATURATION_SIGMOID
        return float(np.count_nonzero((a < lo) | (a > hi))) / a.size
    return None


def _dead_fraction(a: np.ndarray) -> float | None:
    """Fraction of units (axis 1; channels of a conv) that are 0 for every example and
    position (a ReLU's output is never negative, so a unit is dead when its maximum is 0)."""
    if a.ndim < 2 or a.shape[0] == 0:
        return None
    peak = a.max(axis=(0,) + tuple(range(2, a.ndim)))
    return float(np.count_nonzero(peak <= 0)) / peak.size


def _mean_std(a: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation from the sums Σa (accumulated in float64)
    and Σa² (see :func:`_norm`): two passes over the array, no copy."""
    n = a.size
    mean = float(a.sum(dtype=np.float64)) / n
    if not math.isfinite(mean):          # inf or NaN values: no spread to speak of
        return mean, math.nan
    var = _norm(a) ** 2 / n - mean * mean
    return mean, math.sqrt(var) if var > 0 else 0.0


def _apply_activation(kind: str | None, z: Any) -> Any:
    """a = φ(z) for the nonlinearity that follows a layer (tanh, σ(z) = 1/(1 + e^(−z)),
    ReLU max(z, 0)); z itself when none does. Computed from the layer's own output rather
    than read from the activation module, so one activation module shared by several layers
    gives each its own numbers."""
    if kind is None:
        return z
    from ...backend import get_array_module
    xp = get_array_module(z)
    if kind == "tanh":
        return xp.tanh(z)
    if kind == "sigmoid":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + xp.exp(-z))
    return xp.maximum(z, 0)


def _avg(values: list) -> float | None:
    return math.fsum(values) / len(values) if values else None


class LayerCollector:
    """Hooks on every layer of ``model`` while the ``with`` block runs (see the module
    docstring); ``stats()`` gives the numbers of the forward and backward passes run inside.
    Hooks are removed on exit; ``stats()`` still answers after it."""

    def __init__(self, model: Any):
        if not hasattr(model, "named_modules"):
            raise TypeError(f"LayerCollector: model must be a Module, got "
                            f"{type(model).__name__}")
        self.model = model
        self.layers = layer_modules(model)
        self._follow = following_activations(model)  # the structure is read once
        self._records: dict[str, _Record] = {}
        self._grads: dict[int, float] = {}
        self._pending: dict[int, Any] = {}   # parameters whose gradient is read at backward's end
        self._handles: list = []
        self._active = False
        self._calls = 0
        self._snapshot: dict[int, np.ndarray] | None = None
        self._updates: dict[int, float] = {}

    # -- hooks ---------------------------------------------------------------------------------
    def __enter__(self) -> "LayerCollector":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Register the hooks (what ``with`` does on entry); a fresh collection starts."""
        if self._active:
            return
        self._records, self._grads, self._calls = {}, {}, 0
        self._snapshot, self._updates = None, {}
        follow = self._follow
        seen_params: set[int] = set()
        for name, layer in self.layers:
            kind = follow.get(id(layer), (None, None))[0]
            rec = self._records[name] = _Record(kind)
            self._handles.append(layer.register_forward_hook(self._layer_hook(rec)))
            for p in layer.parameters(recurse=False):
                if p.requires_grad and id(p) not in seen_params:
                    seen_params.add(id(p))
                    self._handles.append(
                        p.register_post_accumulate_grad_hook(self._grad_hook))
        self._active = True

    def close(self) -> None:
        """Remove every hook (what ``with`` does on exit)."""
        self._active = False
        for h in self._handles:
            h.remove()
        self._handles = []

    def _layer_hook(self, rec: _Record) -> Callable:
        def hook(module, args, out):
            if not self._active or not hasattr(out, "_data"):
                return None
            if rec.order is None:
                rec.order = self._calls
                self._calls += 1
            a = out._data
            rec.shape = tuple(a.shape)
            self._activation_numbers(rec, _apply_activation(rec.activation, a))
            if out.requires_grad:
                out.register_hook(self._delta_hook(rec))
            return None
        return hook

    @staticmethod
    def _activation_numbers(rec: _Record, a: np.ndarray) -> None:
        a = _host(a)
        if a.size == 0:
            return
        mean, std = _mean_std(a)
        rec.means.append(mean)
        rec.stds.append(std)
        if rec.activation in ("tanh", "sigmoid"):
            rec.saturated.append(_saturated_fraction(rec.activation, a))
        elif rec.activation == "relu":
            dead = _dead_fraction(a)
            if dead is not None:
                rec.dead.append(dead)

    def _delta_hook(self, rec: _Record) -> Callable:
        def hook(grad):
            if self._active:
                n = _norm(grad._data)
                rec.delta_sq += n * n
                rec.deltas += 1
            return None
        return hook

    def _grad_hook(self, param) -> None:
        if not (self._active and param.grad is not None):
            return
        if not self._pending:
            from ...autograd import engine
            try:    # read at the end of backward: after DDP's averaged write-back
                engine.queue_callback(self._read_pending)
            except RuntimeError:   # not inside an engine backward: read now
                self._grads[id(param)] = _norm(param.grad._data)
                return
        self._pending[id(param)] = param

    def _read_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for key, param in pending.items():
            if param.grad is not None:
                self._grads[key] = _norm(param.grad._data)

    # -- the optimizer step ----------------------------------------------------------------------
    def snapshot_weights(self) -> None:
        """Copy the layers' parameters (call after backward, before ``optimizer.step()``)."""
        self._snapshot = {id(p): p._data.copy() for _, layer in self.layers
                          for p in layer.parameters(recurse=False)}

    def measure_update(self) -> None:
        """‖ΔW‖/‖W‖ of the step taken since :meth:`snapshot_weights` (‖W‖ before the step)."""
        if self._snapshot is None:
            raise RuntimeError("LayerCollector.measure_update: call snapshot_weights() before "
                               "the optimizer step")
        for _, layer in self.layers:
            for p in layer.parameters(recurse=False):
                old = self._snapshot.get(id(p))
                if old is not None and old.shape == p._data.shape:
                    before = _norm(old)
                    step = np.subtract(p._data, old, out=old)   # the copy is ours to reuse
                    self._updates[id(p)] = _ratio(_norm(step), before)
        self._snapshot = None

    def update_ratios(self) -> dict[str, dict[str, float]]:
        """layer -> parameter -> ‖ΔW‖/‖W‖ of the step :meth:`measure_update` measured."""
        out: dict[str, dict[str, float]] = {}
        for name, layer in self.layers:
            for pname, p in layer.named_parameters(recurse=False):
                if id(p) in self._updates:
                    out.setdefault(name, {})[pname] = self._updates[id(p)]
        return out

    # -- results ---------------------------------------------------------------------------------
    def _layer_stats(self, name: str, layer: Any) -> LayerStats:
        rec = self._records.get(name) or _Record(None)
        params: dict[str, ParamStats] = {}
        for pname, p in layer.named_parameters(recurse=False):
            weight = _norm(p._data)
            grad = self._grads.get(id(p))
            params[pname] = ParamStats(grad, weight, _ratio(grad, weight),
                                       self._updates.get(id(p)))
        return LayerStats(
            name=name, kind=type(layer).__name__, out_shape=rec.shape,
            activation=rec.activation, act_mean=_avg(rec.means), act_std=_avg(rec.stds),
            delta_norm=math.sqrt(rec.delta_sq) if rec.deltas else None,
            saturated=_avg(rec.saturated), dead=_avg(rec.dead),
            params=params, calls=len(rec.means) if rec.means else int(rec.order is not None))

    def stats(self) -> dict[str, LayerStats]:
        """name -> :class:`LayerStats`, the layers that ran in the order they first ran, then
        any that did not run (their activation and δ fields None)."""
        def key(item: tuple[int, tuple[str, Any]]) -> tuple[int, int]:
            i, (name, _) = item
            rec = self._records.get(name)
            order = rec.order if rec is not None and rec.order is not None else None
            return (0, order) if order is not None else (1, i)
        ordered = sorted(enumerate(self.layers), key=key)
        return {name: self._layer_stats(name, layer) for _, (name, layer) in ordered}

    def __iter__(self) -> Iterator[LayerStats]:
        return iter(self.stats().values())
