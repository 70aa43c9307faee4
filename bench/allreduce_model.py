"""Data parallelism past one machine, on paper: ring-allreduce time against a ResNet-50-sized
step's compute, written into docs/distributed.md between its ``allreduce-model`` markers.

    python -m bench.allreduce_model            # rewrite the tables in docs/distributed.md
    python -m bench.allreduce_model --check    # exit 1 if the committed tables are stale

The model (every number an assumption stated here and in the page):
  allreduce of S bytes on N ranks, ring:  T = 2(N−1)/N · S/β + 2(N−1)·α
  in k buckets:                           k allreduces of S/k: the latency term is paid k times
  compute per step:                       forward t_f = C/3, backward t_b = 2C/3,
                                          C = per-rank batch · 3 · 2 · 4.1 GFLOP / sustained rate
  overlap: bucket i's gradients are ready when backward has produced its share of the bytes
  (uniformly over t_b), the buckets go over the network one after another, and the step ends
  when backward and the last bucket are both done. Nothing is measured; nothing is timed.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "distributed.md"
REGION = "allreduce-model"

PARAMS = 25_000_000                 # ResNet-50 has 25.6 M; a round 25 M
GRAD_BYTES = 4 * PARAMS             # float32 gradients: 100 MB
FORWARD_MACS = 4.1e9                # multiply-adds of one 224×224 image's forward pass
FLOP_PER_IMAGE = 3 * 2 * FORWARD_MACS   # forward + backward ≈ 3 forwards, 2 FLOP per MAC
RANKS = (8, 16, 32, 64, 128, 256)
BUCKET_MB = 25
BUCKET_SWEEP_MB = (1, 5, 25, 100)
MB = 1e6


@dataclass(frozen=True)
class Network:
    name: str
    gbit_s: float          # link bandwidth per direction
    latency_s: float       # α: one message's start-up cost on one hop

    @property
    def bytes_s(self) -> float:
        return self.gbit_s * 1e9 / 8


@dataclass(frozen=True)
class Device:
    name: str
    flop_s: float          # sustained (not peak) training throughput
    batch: int             # images per rank per step

    @property
    def compute_s(self) -> float:
        return self.batch * FLOP_PER_IMAGE / self.flop_s


NETWORKS = (Network("25 Gb/s Ethernet", 25, 10e-6), Network("200 Gb/s InfiniBand", 200, 2e-6))
DEVICES = (Device("CPU node", 1e12, 32), Device("GPU", 50e12, 64))


def ring_allreduce_s(nbytes: float, ranks: int, net: Network) -> float:
    """T = 2(N−1)/N · S/β + 2(N−1)·α: reduce-scatter then all-gather around the ring."""
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) / ranks * nbytes / net.bytes_s + 2 * (ranks - 1) * net.latency_s


def bandwidth_term_s(nbytes: float, ranks: int, net: Network) -> float:
    return 2 * (ranks - 1) / ranks * nbytes / net.bytes_s


def ring_latency_term_s(ranks: int, net: Network) -> float:
    return 2 * (ranks - 1) * net.latency_s


def tree_latency_term_s(ranks: int, net: Network) -> float:
    """Recursive halving/doubling (MPICH's long-message allreduce): 2·log2(N)·α."""
    return 2 * math.log2(ranks) * net.latency_s


def bucket_sizes(total: float, cap: float) -> list[float]:
    """The buckets' byte counts: full buckets of ``cap`` and one remainder."""
    full, rest = divmod(total, cap)
    return [cap] * int(full) + ([rest] if rest > 0 else [])


def step_s(device: Device, net: Network, ranks: int, cap_mb: float | None) -> float:
    """One step's time with buckets of ``cap_mb`` (overlapped with backward), or with one
    allreduce of everything after backward when ``cap_mb`` is None."""
    compute = device.compute_s
    if cap_mb is None:
        return compute + ring_allreduce_s(GRAD_BYTES, ranks, net)
    t_f, t_b = compute / 3, 2 * compute / 3
    done, produced, wire_free = 0.0, 0.0, 0.0
    for size in bucket_sizes(GRAD_BYTES, cap_mb * MB):
        produced += size
        ready = t_f + t_b * produced / GRAD_BYTES
        done = max(ready, wire_free) + ring_allreduce_s(size, ranks, net)
        wire_free = done
    return max(compute, done)


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def allreduce_table() -> list[str]:
    k = len(bucket_sizes(GRAD_BYTES, BUCKET_MB * MB))
    head = ["ranks N"]
    for net in NETWORKS:
        head += [f"{net.gbit_s:g} Gb/s: one allreduce", f"{k} × {BUCKET_MB} MB"]
    head += ["latency per allreduce: ring 2(N−1)α", "tree 2·log₂N·α"]
    lines = [_row(head), _row(["---:"] * len(head))]
    for n in RANKS:
        cells = [str(n)]
        for net in NETWORKS:
            cells += [_ms(ring_allreduce_s(GRAD_BYTES, n, net)),
                      _ms(sum(ring_allreduce_s(s, n, net)
                              for s in bucket_sizes(GRAD_BYTES, BUCKET_MB * MB)))]
        cells += [" / ".join(_ms(ring_latency_term_s(n, net)) for net in NETWORKS),
                  " / ".join(_ms(tree_latency_term_s(n, net)) for net in NETWORKS)]
        lines.append(_row(cells))
    return lines


def step_table() -> list[str]:
    head = ["ranks N"]
    for dev in DEVICES:
        for net in NETWORKS:
            head.append(f"{dev.name}, {net.gbit_s:g} Gb/s")
    lines = [_row(head), _row(["---:"] * len(head))]
    for n in RANKS:
        cells = [str(n)]
        for dev in DEVICES:
            for net in NETWORKS:
                plain, bucketed = step_s(dev, net, n, None), step_s(dev, net, n, BUCKET_MB)
                cells.append(f"{_ms(plain)} → {_ms(bucketed)} ({dev.compute_s / bucketed:.0%})")
        lines.append(_row(cells))
    return lines


def bucket_table(ranks: int = 256) -> list[str]:
    dev = DEVICES[1]
    head = ["bucket_cap_mb", "buckets"] + [f"{net.gbit_s:g} Gb/s: latency paid, step (efficiency)"
                                           for net in NETWORKS]
    lines = [_row(head), _row(["---:"] * len(head))]
    for cap in BUCKET_SWEEP_MB:
        k = len(bucket_sizes(GRAD_BYTES, cap * MB))
        cells = [f"{cap:g}", str(k)]
        for net in NETWORKS:
            step = step_s(dev, net, ranks, cap)
            cells.append(f"{_ms(k * ring_latency_term_s(ranks, net))}, {_ms(step)} "
                         f"({dev.compute_s / step:.0%})")
        lines.append(_row(cells))
    return lines


def generate_region() -> str:
    """The markdown between the markers: the assumptions, then three tables (times in ms)."""
    nets = "; ".join(f"{n.name}: β = {n.bytes_s / 1e9:g} GB/s, α = {n.latency_s * 1e6:g} µs"
                     for n in NETWORKS)
    devs = "; ".join(f"{d.name}: {d.flop_s / 1e12:g} TFLOP/s sustained, {d.batch} images per "
                     f"rank, compute {_ms(d.compute_s)} ms per step" for d in DEVICES)
    out = [f"Gradients: {PARAMS / 1e6:g} M float32 = {GRAD_BYTES / MB:g} MB. {nets}. {devs} "
           f"({FLOP_PER_IMAGE / 1e9:g} GFLOP per image). Times in ms.", "",
           f"**Allreduce of {GRAD_BYTES / MB:g} MB**, ring model (the latency columns give "
           + " / ".join(f"{n.gbit_s:g} Gb/s" for n in NETWORKS) + "):", ""]
    out += allreduce_table()
    out += ["", f"**Step time**, one allreduce after backward → {BUCKET_MB} MB buckets overlapped "
            "with backward (compute / step):", ""]
    out += step_table()
    out += ["", f"**Bucket size** at N = 256, {DEVICES[1].name} ({_ms(DEVICES[1].compute_s)} ms "
            "of compute):", ""]
    out += bucket_table()
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    """``text`` (the page) with its generated region replaced by a fresh one."""
    sys.path.insert(0, str(ROOT))
    from bench.results_table import replace_region
    return replace_region(text, REGION, generate_region(), where=str(PAGE))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.allreduce_model", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the page's tables differ from fresh ones")
    p.add_argument("--page", type=Path, default=PAGE, help="the page (default docs/distributed.md)")
    args = p.parse_args(argv)
    current = args.page.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{args.page} is out of date: run `python -m bench.allreduce_model`",
                  file=sys.stderr)
            return 1
        return 0
    from chainrule.io.atomic import atomic_open
    with atomic_open(args.page, "wb", what="allreduce cost tables") as f:
        f.write(fresh.encode("utf-8"))
    print(f"wrote {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
