"""The named constants every health verdict is decided by, and how each was set.

δ below is ∂L/∂y, the gradient of the minibatch loss with respect to a layer's output y; the
*first-to-last δ ratio* of one batch is ‖δ‖ at the first layer (in the order the layers ran)
over ‖δ‖ at the last. Going back through one layer multiplies the gradient by Wᵀ·diag(φ'(z)),
so over a deep stack the ratio is a product of per-layer factors: it stays within an order of
magnitude or two for a scale-preserving initialisation (He, Xavier) and moves geometrically,
by many orders, when every factor is off. The thresholds sit far from both regimes.
"""
from __future__ import annotations

from ..divergence import DIVERGENCE_FACTOR

__all__ = ["VANISHING_RATIO", "EXPLODING_RATIO", "GROWTH_FACTOR", "SATURATED_FRACTION",
           "DEAD_FRACTION", "UPDATE_RATIO_BAND", "optimizer_family", "LR_JUDGED_FROM",
           "LR_MIN_SAMPLES", "LR_WINDOW", "OVERFIT_SMOOTHING", "OVERFIT_RISE", "OVERFIT_NOISE",
           "OVERFIT_EPOCHS",
           "DEFAULT_EVERY", "DIVERGENCE_FACTOR"]

VANISHING_RATIO = 1e-3
"""Vanishing: the median first-to-last δ ratio of an epoch's sampled batches is below this.
Measured: He-initialised ReLU MLPs on digits give 0.2–2 (20-layer He stacks stay within 3×,
see tests/test_notes_demos.py); 20 tanh layers from N(0, 0.01²) give about 1e-21."""

EXPLODING_RATIO = 1e3
"""Exploding: the median first-to-last δ ratio is above this (the issue's 1e3). Twenty tanh
layers from N(0, 1) give about 1e6; healthy nets stay below 10."""

GROWTH_FACTOR = 1e3
"""Exploding over steps: the total gradient norm of a sampled batch is this many times that of
the first sampled batch of the run (gradients normally shrink as training proceeds)."""

SATURATED_FRACTION = 0.5
"""Saturated: more than this fraction of a tanh/sigmoid layer's activations are saturated
(|tanh| > 0.97, sigmoid outside [0.03, 0.97]) — "most units" — in the median sampled batch.
Xavier-initialised tanh stacks saturate under 15 %; N(0, 1) ones about 70 %."""

DEAD_FRACTION = 0.5
"""Dead: more than this fraction of a ReLU layer's units are zero for every example of the
batch, in the median sampled batch. He-initialised ReLU layers have next to none (a unit is
dead for a whole batch of 32 with probability about 2⁻³²)."""

# ‖ΔW‖/‖W‖ per step: below the band's low end, or above its high end, the learning rate is
# too low / too high. Measured with the default ``chainrule train`` model on digits (MLP
# 64-256-128-10, batch 32, cosine schedule over 20 epochs, one batch in 10 measured), as the
# median over the layers of the weights' update ratio, averaged per epoch:
#   adam lr 1e-3 (default): 1.2e-2 in epoch 1, 1.2e-3 at epoch 10, 1.3e-4 at epoch 17 (where
#                 the lr is down to 10 %), 5e-6 in the last epoch; lr 1e-7: 1e-6 .. 2.5e-7;
#                 lr 10: 190 (diverges in epoch 1).
#   sgd  lr 0.1 (default): 6e-3 .. 1e-2 in epochs 1-6, 1e-3 at epoch 15, 1.1e-4 at epoch 19,
#                 1.4e-5 in the last; lr 1e-7: 3e-9; lr 5: 4.3 (diverges).
# (The rule of thumb of about 1e-3 for SGD sits inside.) The high ends leave 5-10x above the
# largest healthy ratio; the low ends 30-100x below the healthy ratio at 10 % of the lr, as
# too-low is judged only there (LR_JUDGED_FROM).
UPDATE_RATIO_BAND: dict[str, tuple[float, float]] = {
    "sgd": (1e-6, 0.1),
    "adam": (3e-6, 0.1),
}
"""(low, high) update-ratio band per optimizer family (see :func:`optimizer_family`)."""

_FAMILY = {"SGD": "sgd", "Adam": "adam", "AdamW": "adam", "NAdam": "adam", "Adamax": "adam",
           "RMSprop": "adam", "Adagrad": "adam", "Adadelta": "adam"}


def optimizer_family(optimizer) -> str | None:
    """The band an optimizer is judged by: ``'sgd'`` or ``'adam'`` (the adaptive optimizers:
    their steps are scaled per coordinate like Adam's, so they share its band — measured for
    Adam only); None for others (L-BFGS, Newton-CG: no learning-rate verdict)."""
    for cls in type(optimizer).__mro__:
        if cls.__name__ in _FAMILY:
            return _FAMILY[cls.__name__]
    return None


LR_JUDGED_FROM = 0.1
""""Too low" is judged only on steps whose scheduled lr is at least this fraction of the
initial lr: a cosine schedule ends at 0, and its last steps' tiny updates are by design."""

LR_MIN_SAMPLES = 8
"""A learning-rate verdict needs at least this many sampled steps (in the window below): one
unlucky step never decides it."""

LR_WINDOW = 40
"""The learning-rate verdicts look at the median over the last this-many sampled steps."""

OVERFIT_SMOOTHING = 3
"""Overfitting reads the validation loss through a trailing median of this many epochs: the
default digits run (144 validation items) has single epochs 15 % below their neighbours,
which are no minimum to rise from."""

OVERFIT_RISE = 0.2
"""Overfitting: at the end of the run the (smoothed) validation loss is more than 20 % above its
minimum — and more than OVERFIT_NOISE times its noise (below). The default 40-epoch digits
run, which generalises well (test error about 2 %), wanders up to 11 % above its smoothed
minimum late in training; a 500-item MNIST-1D run without dropout ends 26 % above it."""

OVERFIT_NOISE = 5.0
"""... and the rise is more than this many times the epoch-to-epoch spread of the validation
loss (the median |v_i − v_{i−1}| over the run; the history keeps no per-item losses to give a
standard error). A relative rise alone is no evidence on a tiny loss: blobs ends 44 % above
its minimum (0.021 → 0.031 on 144 items, test error 0 %), 1.3 spreads. Measured on the
reviewer's 26 healthy CLI runs of issue #21 and 15 more (digits with every optimizer, resmlp,
cnn, batch norm; blobs, moons, spirals, xor, MNIST-1D): at most 2.6 spreads (digits --init
kaiming_normal --dropout 0); the planted cases: 10.8 (MNIST-1D on 500 items), 12 (memorised
random labels); MNIST-1D --model resmlp, 40 epochs (val loss 1.10 → 1.43), 12."""

OVERFIT_EPOCHS = 3
"""... it has stayed above the minimum by half that margin over each of the last this-many epochs
(a rise that recovers by the end is not overfitting), while the training loss fell and the gap
(validation − training loss) widened by more than the margin."""

DEFAULT_EVERY = 30
"""The monitor measures one batch in this many. bench/health_overhead.py on the default digits
MLP (the smallest standard run, so the worst case: the monitor's work grows with the layers'
sizes, a step's matrix products faster), single-threaded BLAS, 51 paired rounds on a shared
2-core AMD EPYC: measuring every batch costs +48 % of training time (one measured batch is
about half a step); one batch in 20 costs +4.3 % wall / +5.2 % CPU (medians), in 30 +4.2 % /
+4.8 % — what is left is a floor of a few per cent that does not shrink with sampling (the
callback's calls on every batch, noise). 30 is the smallest interval measured under 5 % on
both clocks; on digits it still measures one or two batches per epoch."""
