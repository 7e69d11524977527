"""Splitting the stale models over N CI runners, balanced by expected cost.

Every runner of a fan-out computes the split on its own (``plan --shards N`` for the
matrix, ``build --shard I/N`` on each runner, ``build --restore-only --shards N`` to name
the shard a missing model belonged to), so the split must be a pure function of what
every clone of the commit sees alike: the stale models, their costs, N. It is the
greedy longest-processing-time rule: models by cost, largest first (ties by name),
each to the shard with the least cost so far (ties to the lowest shard number).

The cost is ``LockEntry.cost``, written by the build from ``estimated_cost``: the estimated
milliseconds a runner spends on the model after its own start (TensorFlow's import is paid
once per runner, not per model). It is a formula, not the measured seconds, because it must be
deterministic: wall-clock seconds differ on every machine and run, and tfjs.lock must be
byte-identical whether one machine built it or a fan-out assembled it. A model the lock does
not know yet is estimated by the same formula from its input bytes now and its config; one with
no local input either (a URL source never built) costs the mean of the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.fingerprint import ModelInputs
from tfjs_build.engine.lockfile import Lock, LockEntry
from tfjs_build.engine.plan import Step

MAX_SHARDS = 256  # a GitHub matrix runs at most 256 jobs
_SPEC = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> ShardSpec:
    """``"2/3"`` -> ShardSpec(2, 3); ValueError saying what is expected otherwise."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"expected I/N such as 2/3 (shard I of N), got {text[:40]!r}")
    index, count = int(match[1]), int(match[2])
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise ValueError(f"expected I/N with 1 <= I <= N <= {MAX_SHARDS}, got {text[:40]!r}")
    return ShardSpec(index, count)


def input_bytes(inputs: ModelInputs) -> int:
    """Bytes of the model's local input files, from the stat taken when they were fingerprinted."""
    return sum(stamp.signature[2] for stamp in inputs.stamps.values())


# The cost formula's constants: milliseconds of one model's build on a runner whose TensorFlow is loaded.
# The mean of three least-squares fits to the per-model seconds bench/fanout.py measured (16 Keras models,
# 0.05-28 MB, 2-12 layers, one worker); the bench prints its own fit beside these, and how well they predict.
PER_MODEL_MS = 65  # load, trace, freeze, Grappler, passes, write, measure: the work every model has
PER_MIB_MS = 50  # reading, hashing, packing and compressing the weights, per MiB of input files
PER_TENSOR_MS = 20  # per weight tensor the model has (graph passes grow with the layers)
UNBUILT_TENSORS = 8  # a model never built: its weight tensors are known only once a converter has read it
# tfjs.yaml's verify: per backend the model is run on in TF.js after converting (a node process for cpu and
# wasm, Chromium for webgl), measured by bench/fanout.py on a small Keras model.
VERIFY_MS = {"cpu": 650, "wasm": 600, "webgl": 5000}


def estimated_cost(input_bytes: int, tensors: int | None, verified: Sequence[str] = ()) -> int:
    """A model's expected build milliseconds (after the runner's start): the one cost formula. ``verified``:
    the backends its build runs it on (``verified_backends``)."""
    count = UNBUILT_TENSORS if tensors is None else tensors
    proof = sum(VERIFY_MS[backend] for backend in verified)
    return round(PER_MODEL_MS + PER_MIB_MS * input_bytes / (1 << 20) + PER_TENSOR_MS * count + proof)


def verified_backends(model: ModelConfig) -> tuple[str, ...]:
    """The backends a build of ``model`` runs it on in TF.js (its ``backends`` when ``verify`` is on)."""
    return model.backends if model.verify.enabled else ()


CostRow = tuple[str, LockEntry | None, int | None, Sequence[str]]  # name, lock entry, input bytes now, verified


def model_costs(models: Sequence[CostRow]) -> list[tuple[str, int]]:
    """(name, cost) for each (name, lock entry or None, input bytes now or None for no local input, verified
    backends), in order: the lock's cost, else the formula on the bytes now, else the mean of the others."""
    known = [entry.cost if entry is not None and entry.cost else None if now is None else
             estimated_cost(now, None, verified) for _, entry, now, verified in models]
    given = [cost for cost in known if cost is not None]
    fallback = sum(given) // len(given) if given else 1
    return [(row[0], fallback if cost is None else cost) for row, cost in zip(models, known, strict=True)]


def split(costs: Sequence[tuple[str, int]], count: int) -> list[list[str]]:
    """The models of ``costs`` in ``count`` groups of near-equal total cost; each group in the order given."""
    loads = [0] * count
    members: list[set[str]] = [set() for _ in range(count)]
    for name, cost in sorted(costs, key=lambda item: (-item[1], item[0])):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += cost
        members[lightest].add(name)
    return [[name for name, _ in costs if name in group] for group in members]


def shard_of(groups: Sequence[Sequence[str]], name: str) -> ShardSpec | None:
    """The shard whose group holds ``name``."""
    for i, group in enumerate(groups):
        if name in group:
            return ShardSpec(i + 1, len(groups))
    return None


def balance(costs: Sequence[tuple[str, int]], groups: Sequence[Sequence[str]]) -> float:
    """Largest group's cost over the mean group's cost (1.0 is perfect)."""
    by_name = dict(costs)
    loads = [sum(by_name[name] for name in group) for group in groups]
    mean = sum(loads) / len(loads) if loads else 0
    return max(loads) / mean if mean else 1.0


@dataclass(frozen=True)
class Fanout:
    """What one build of a fan-out does (the default: an ordinary build)."""

    shard: ShardSpec | None = None  # build only this group of the split of the stale models
    restore_only: bool = False  # never convert: a model neither cache holds fails (exit 1)
    shards: int | None = None  # the fan-out's N when no shard is given: names the shard a missing model was in

    @property
    def count(self) -> int | None:
        return self.shard.count if self.shard is not None else self.shards


ORDINARY = Fanout()


def split_steps(steps: Sequence[Step], lock: Lock, count: int, config: Config) -> list[list[str]]:
    """``split`` of the stale steps, each costed by its lock entry or else estimated from its input bytes now."""
    rows: list[CostRow] = [(s.model, lock.models.get(s.model), input_bytes(s.inputs) if s.inputs.stamps else None,
                            verified_backends(config.model(s.model))) for s in steps if not s.fresh]
    return split(model_costs(rows), count)
