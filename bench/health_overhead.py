"""What the gradient-health monitor costs: ``fit`` of the default ``chainrule train`` model on
digits (MLP 64-256-128-10, ReLU, dropout 0.2, Adam, batch 32) with and without
:class:`~chainrule.train.callbacks.GradientHealth`, for several sampling intervals.

    PYTHONPATH=src python bench/health_overhead.py [--rounds 31] [--epochs 5] [--every 1,5,10,20]

Each round trains every variant once from the same initial weights, in an order that rotates
from round to round (so a slow spell of a shared machine does not always hit the same
variant); the time is the training loop's own (minibatch updates, no evaluation passes) and the
overhead is the median over rounds of the monitored time over the plain one of the same round,
minus 1, reported for wall time and for this process's CPU time (steadier on a shared machine),
with the ratio of the fastest runs of each variant beside it (other processes only ever add
time, so the fastest run is the least disturbed).
health.json and health.png, written once when a run ends, are left out (a fixed cost: the
figure takes about a second, mostly importing matplotlib). Prints the CPU model (``lscpu``) with the numbers.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown (no lscpu)"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def build(seed: int = 0):
    """The default digits run's data, model and optimizer, as ``chainrule train`` builds
    them."""
    import chainrule as cr
    from chainrule.cli.args import DEFAULTS
    from chainrule.cli.build import make_optimizer, model_from_options
    from chainrule.cli.data import load_data
    o = dict(DEFAULTS)
    cr.manual_seed(seed)
    data = load_data(o["dataset"], o["data_dir"], o["val_split"], verbose=False)
    model = model_from_options(o, data.input_shape, data.num_classes)
    return o, data, model, make_optimizer(o, model)


def time_fit(every: int | None, epochs: int) -> tuple[float, float]:
    """(wall seconds of minibatch updates, CPU seconds of the whole ``fit``) of one run
    (``every=None``: without the monitor). On a shared machine the CPU time of this process
    is far less disturbed by other processes than wall time."""
    from chainrule import nn
    from chainrule.data import DataLoader
    from chainrule.train import fit
    from chainrule.train.callbacks import GradientHealth
    import chainrule as cr
    o, data, model, opt = build()
    cr.manual_seed(1)
    loader = DataLoader(data.train, batch_size=o["batch_size"], shuffle=True)
    cbs = [] if every is None else [GradientHealth(every=every, warn=False)]
    cpu = time.process_time()
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=epochs, callbacks=cbs,
                  metrics=None, eval_train=False, handle_sigint=False)
    cpu = time.process_time() - cpu
    return sum(r["train_seconds"] for r in history), cpu


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=31)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--every", default="1,5,10,20")
    a = p.parse_args(argv)
    everys = [int(e) for e in a.every.split(",")]
    variants: list[int | None] = [None, *everys]
    times: dict = {v: [] for v in variants}
    time_fit(None, 1)  # warm-up: imports, data, BLAS
    for r in range(a.rounds):
        k = r % len(variants)
        for v in variants[k:] + variants[:k]:
            times[v].append(time_fit(v, a.epochs))
    result: dict = {"cpu": cpu_model(), "overhead_wall": {}, "overhead_cpu": {}}
    print(f"CPU: {result['cpu']}")
    plain_wall = statistics.median(t[0] for t in times[None])
    plain_cpu = statistics.median(t[1] for t in times[None])
    print(f"digits default MLP, {a.epochs} epochs per run, {a.rounds} rounds; without the "
          f"monitor: median {plain_wall:.3f} s wall of training, {plain_cpu:.3f} s CPU")
    for v in everys:
        line = [f"  every={v:<3d}"]
        for i, what in ((0, "wall"), (1, "cpu")):
            ratios = [t[i] / p0[i] - 1 for t, p0 in zip(times[v], times[None])]
            over = statistics.median(ratios)
            result[f"overhead_{what}"][v] = over
            best = min(t[i] for t in times[v]) / min(t[i] for t in times[None]) - 1
            result[f"overhead_{what}_of_fastest"] = {**result.get(
                f"overhead_{what}_of_fastest", {}), v: best}
            line.append(f"{what} {100 * over:+5.1f} % (rounds {100 * min(ratios):+.0f} .. "
                        f"{100 * max(ratios):+.0f} %; fastest runs {100 * best:+.1f} %)")
        print("  ".join(line))
    return result


if __name__ == "__main__":
    main()
