"""The figures bench/fanout.py prints from what it measured: the cost formula against measured seconds, and
each split's modelled wall time and balance beside the best any split of the set can do."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tfjs_build.engine.shards import PER_MIB_MS, PER_MODEL_MS, PER_TENSOR_MS, VERIFY_MS, estimated_cost

MIB = 1 << 20
LOCAL, REMOTE = "from the local cache", "from the S3 remote (moto on 127.0.0.1)"


@dataclass
class Assemble:
    seconds: float
    restored: int
    imported_tensorflow: bool
    same_lock: bool  # tfjs.lock byte-identical to the one-machine build's


@dataclass
class Plans:
    costs: dict[str, int]  # the estimates the split balanced
    splits: dict[int, list[list[str]]]  # N -> the groups plan --json --shards N printed (non-empty ones)
    seconds: dict[int, float]  # N -> the plan command's wall time


@dataclass
class Measured:
    names: list[str]
    seconds: dict[str, float]  # each model's build seconds on a runner whose start is paid already
    startup: float  # a runner's own seconds: Python, the plan, a worker, TensorFlow's import, the exit
    walls: list[float]  # the one-machine builds of every model (-j 1), measured
    lock: dict[str, Any]  # tfjs.lock's entries (JSON) after the first
    input_bytes: dict[str, int]
    assembles: dict[str, list[Assemble]]  # LOCAL, REMOTE -> the assemble step after each build

    @property
    def solo_wall(self) -> float:
        return statistics.median(self.walls)

    def tensors(self, name: str) -> int:
        return len(self.lock[name]["weights"])


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's r."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / (sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)) ** 0.5


def share_error(estimate: Sequence[float], seconds: Sequence[float]) -> float:
    """Mean |estimate's share - seconds' share| over the mean share: 0 when the estimate is proportional."""
    e, s = sum(estimate), sum(seconds)
    return statistics.mean(abs(x / e - y / s) for x, y in zip(estimate, seconds, strict=True)) * len(seconds)


def print_cost_fit(m: Measured) -> None:
    import numpy as np

    total = sum(m.seconds.values())
    print(f"{len(m.names)} real Keras models, built with -j 1; a runner's start-up: {m.startup:.2f} s")
    print("model          input MB  tensors  measured s  share  cost (lock)  cost (cold)")
    for name in m.names:
        print(f"  {name:12s} {m.input_bytes[name] / 1e6:8.2f} {m.tensors(name):8d} {m.seconds[name]:11.3f} "
              f"{100 * m.seconds[name] / total:5.1f}% {m.lock[name]['cost']:9d} ms "
              f"{estimated_cost(m.input_bytes[name], None):8d} ms")
    seconds = [m.seconds[n] for n in m.names]
    print(f"largest model: {100 * max(seconds) / total:.1f}% of the work (<= 25% wanted)")
    print("how well each estimate predicts the seconds (r: correlation; error: mean |share of the estimate - "
          "share of the seconds| / mean share, what a split balances on):")
    for label, estimate in (("cost (tfjs.lock)", [m.lock[n]["cost"] for n in m.names]),
                            ("cost (cold)", [estimated_cost(m.input_bytes[n], None) for n in m.names]),
                            ("input bytes alone", [m.input_bytes[n] for n in m.names])):
        print(f"  {label:18s} r {correlation(estimate, seconds):.3f}  error {100 * share_error(estimate, seconds):5.1f}%")
    terms = np.array([[1.0, m.input_bytes[n] / MIB, m.tensors(n)] for n in m.names])
    fit, *_ = np.linalg.lstsq(terms, np.array(seconds) * 1000, rcond=None)
    print(f"least squares on this run (ms): per model {fit[0]:.0f}, per MiB {fit[1]:.1f}, per tensor {fit[2]:.1f}"
          f"; the engine's formula: {PER_MODEL_MS}, {PER_MIB_MS}, {PER_TENSOR_MS}")


def print_verify(extra: dict[str, float]) -> None:
    print("verify (tfjs.yaml's verify: true), seconds each backend adds to a small model's build, measured "
          f"(the formula's VERIFY_MS): {', '.join(f'{b} {s:.2f} s ({VERIFY_MS[b] / 1000:.2f})' for b, s in extra.items())}")


def optimal_makespan(loads: Sequence[float], count: int, budget: int = 2_000_000) -> tuple[float, bool]:
    """The smallest possible largest group of ``loads`` in ``count`` groups (branch and bound from the greedy
    split), and whether the search finished within ``budget`` nodes (if not, the best found: an upper bound)."""
    items = sorted(loads, reverse=True)
    greedy = [0.0] * count
    for item in items:
        greedy[greedy.index(min(greedy))] += item
    floor = max(items[0], sum(items) / count)  # no split beats this
    bins, best, nodes = [0.0] * count, max(greedy), 0
    rest = [sum(items[i:]) for i in range(len(items) + 1)]

    def place(i: int) -> None:
        nonlocal best, nodes
        nodes += 1
        if nodes > budget or best <= floor * (1 + 1e-9):
            return
        if i == len(items):
            best = max(bins)
            return
        if (sum(bins) + rest[i]) / count >= best:
            return
        seen = set()
        for b in sorted(range(count), key=bins.__getitem__):
            if bins[b] in seen or bins[b] + items[i] >= best:
                continue  # an equal bin gives the same subtree; an overfull one cannot beat the best
            seen.add(bins[b])
            bins[b] += items[i]
            place(i + 1)
            bins[b] -= items[i]

    place(0)
    return best, nodes <= budget


def print_splits(m: Measured, plans: dict[str, Plans], job: float) -> None:
    seconds = [m.seconds[n] for n in m.names]
    one = job + m.startup + sum(seconds)
    assemble = statistics.median(a.seconds for a in m.assembles[REMOTE])
    print(f"\none machine: {m.solo_wall:.2f} s measured (median of the four builds) = start-up {m.startup:.2f} s "
          f"+ every model {sum(seconds):.2f} s; a CI job's own start: {job:.2f} s (--job-start)")
    for label, plan in plans.items():
        print(f"\n{label}:")
        print("N  models per shard  largest shard  fan-out wall  speed-up  balance  optimum  lower bound  "
              "balance on cost")
        for count, groups in plan.splits.items():
            loads = [sum(m.seconds[n] for n in group) for group in groups] + [0.0] * (count - len(groups))
            shard = job + m.startup + max(loads)
            wall = shard if count == 1 else job + plan.seconds[count] + shard + job + assemble
            print(f"{count}  {'/'.join(str(len(g)) for g in groups):16s} {shard:10.2f} s {wall:10.2f} s "
                  f"{one / wall:8.2f}x {balance_columns(m, plan.costs, groups, count)}")
    print("(largest shard: a CI job's start + a runner's start-up + its models' seconds; fan-out wall: the plan "
          "job, the largest shard, the assemble job from the S3 remote, one after another (N = 1: one machine, "
          "no plan or assemble job); balance: largest shard / mean shard on measured seconds, start-up "
          "excluded; optimum: the best split of these seconds; lower bound: max(1, largest model / mean shard); "
          "balance on cost: on the estimates the split was made from)")


def balance_columns(m: Measured, costs: dict[str, int], groups: list[list[str]], count: int) -> str:
    """Balance achieved on measured seconds, the best possible, the lower bound, and balance on the estimates."""
    seconds = [m.seconds[n] for n in m.names]
    loads = [sum(m.seconds[n] for n in group) for group in groups] + [0.0] * (count - len(groups))
    planned = [sum(costs[n] for n in group) for group in groups] + [0] * (count - len(groups))
    mean = sum(loads) / count
    optimum, exact = optimal_makespan(seconds, count)
    return (f"{max(loads) / mean:8.3f} {'' if exact else '<='}{optimum / mean:7.3f} "
            f"{max(1.0, max(seconds) / mean):11.3f} {max(planned) * count / sum(planned):15.3f}")


def print_assemble(m: Measured) -> None:
    for label, runs in m.assembles.items():
        shares = [a.seconds / wall for a, wall in zip(runs, m.walls, strict=True)]
        print(f"\nassemble (build --restore-only) {label}, after each one-machine build: "
              f"{', '.join(f'{a.seconds:.2f} s / {wall:.2f} s' for a, wall in zip(runs, m.walls, strict=True))}")
        print(f"  restored {'/'.join(str(a.restored) for a in runs)} of {len(m.names)}, TensorFlow imported: "
              f"{any(a.imported_tensorflow for a in runs)}, tfjs.lock byte-identical to the one-machine build's: "
              f"{all(a.same_lock for a in runs)}")
        print(f"  assemble / one-machine build: {100 * statistics.median(shares):.1f}% (median; goal <= 5%)")
