"""Run every check on a project's config, its tfjs.lock and its built files -> one Report.

Checks read only what the build already recorded: figures from tfjs.lock, op node names
and fusions from each model.json. Nothing here imports tensorflow, so
``tfjs-build check`` stays fast enough for a pre-commit hook.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfjs_build.bench.record import ModelBench, read_bench
from tfjs_build.checks import fusion_support as fs
from tfjs_build.checks import op_support as ops
from tfjs_build.checks.budgets import evaluate_budgets, missing_accuracy, missing_timings
from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.fingerprint import open_stat_cache
from tfjs_build.engine.lockfile import Lock, LockEntry
from tfjs_build.engine.output_facts import output_mismatch
from tfjs_build.engine.stat_cache import StatCache
from tfjs_build.project import BENCH_NAME
from tfjs_build.report.record import Figures, ModelReport, Report, Unsupported

MAX_NODES = 5  # node names quoted per unsupported op; the rest are counted


def run_checks(config: Config, lock: Lock, names: Sequence[str] = ()) -> Report:
    """Check the models named (all when none are), in tfjs.yaml order; timing budgets against tfjs.bench.json."""
    models = config.select(names)
    paths = config.paths
    bench = read_bench(paths.bench).models
    with open_stat_cache(paths) as stats:
        return Report("check", tuple(check_model(config, model, lock.models.get(model.name), stats,
                                                 bench.get(model.name)) for model in models))


def check_model(config: Config, model: ModelConfig, entry: LockEntry | None, stats: StatCache,
                bench: ModelBench | None = None) -> ModelReport:
    if entry is None:
        return ModelReport(model.name, None, failures=(
            f"{model.where()}: not built yet (no entry in tfjs.lock); run `tfjs-build build {model.name}`",))
    budgets = evaluate_budgets(model, entry, bench)
    failures = [line.message for line in budgets if not line.ok] + missing_timings(model, bench)
    failures += filter(None, [missing_accuracy(model, entry), _outputs_mismatch(config, model, entry, stats)])
    graph = entry.settings.get("format", "graph") == "graph"  # layers models run layer code, not graph ops
    unsupported, unproven, notes = _op_support(config, model, entry) if graph else ([], [], [])
    failures += [_unsupported_message(model, item) for item in unsupported]
    failures += [_unproven_message(model, item) for item in unproven]
    notes += _stale_settings(model, entry)
    if bench is not None and bench.fingerprint != entry.fingerprint:
        notes.append(f"{model.name}: {BENCH_NAME} measured another build of this model; its timings stand until "
                     f"`tfjs-build bench {model.name}`")
    return ModelReport(
        name=model.name,
        figures=Figures.from_entry(entry),
        budgets=budgets,
        unsupported=tuple(unsupported + unproven),
        failures=tuple(failures),
        notes=tuple(notes),
        weights=entry.weights,
        bench=bench,
        verified=dict(entry.verified or {}),
    )


def _op_support(
    config: Config, model: ModelConfig, entry: LockEntry
) -> tuple[list[Unsupported], list[Unsupported], list[str]]:
    """(unsupported ops, unproven fusions, notes), with node names from model.json; ops from the lock's
    op list when it is absent (e.g. CI checking a committed lock: fusions were checked at build time)."""
    out_dir = config.model_output_dir(model.name)
    model_json = _read_model_json(out_dir / "model.json")
    topology = model_json.get("modelTopology") if model_json is not None else None
    topology = topology if isinstance(topology, dict) else None
    unsupported = _unsupported_ops(entry, model.backends, topology)
    unproven = _unproven_fusions(topology, _weight_shapes(model_json), model.backends)
    notes = [] if topology is not None or not unsupported else [
        f"{model.name}: no model.json at {_shown(config, out_dir)} to name the nodes; "
        f"run `tfjs-build build {model.name}` to see them"]
    return unsupported, unproven, notes


def _stale_settings(model: ModelConfig, entry: LockEntry) -> list[str]:
    """Figures from a build with other settings are not this config's figures: say so (status says more)."""
    now, then = model.output_settings(), entry.settings
    changed = sorted(key for key in now.keys() | then.keys() if now.get(key) != then.get(key))
    if not changed:
        return []
    return [f"{model.name}: tfjs.lock was built with other {', '.join(changed)}; these figures are from that "
            f"build until `tfjs-build build {model.name}`"]


def _shown(config: Config, path: Path) -> str:
    return path.relative_to(config.root).as_posix() if path.is_relative_to(config.root) else str(path)


def _outputs_mismatch(config: Config, model: ModelConfig, entry: LockEntry, stats: StatCache) -> str | None:
    """Built files that are missing, extra or differ from the lock (by sha256, as status sees them) mean the
    lock describes another build."""
    out_dir = config.model_output_dir(model.name)
    if not os.path.lexists(out_dir):
        return None  # not built in this checkout (e.g. CI checking the committed lock): figures still stand
    mismatch = output_mismatch(out_dir, entry.files, stats)
    if mismatch is None:
        return None
    return f"{_shown(config, out_dir)}: {mismatch.detail}; run `tfjs-build build {model.name}` to rebuild them"


def _read_model_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or unreadable: checked from the lock alone
        return None
    return data if isinstance(data, dict) else None


def _weight_shapes(model_json: dict[str, Any] | None) -> dict[str, list[int]]:
    """Weight name -> shape, from the manifest (a fused prelu's alpha layout is in its shape)."""
    groups = (model_json or {}).get("weightsManifest", [])
    try:
        return {weight["name"]: list(weight["shape"]) for group in groups for weight in group["weights"]}
    except (KeyError, TypeError):  # a hand-edited manifest: alphas count as per channel
        return {}


def _unsupported_ops(entry: LockEntry, backends: Sequence[str], topology: dict[str, Any] | None) -> list[Unsupported]:
    """Ops some backend lacks: with node names from model.json, else from the lock's op list."""
    pairs = ops.topology_nodes(topology) if topology is not None else [(op, op) for op in entry.ops]
    return [
        Unsupported(item.op, item.backends, item.nodes if topology is not None else (), item.reason)
        for item in ops.find_unsupported(pairs, backends)
    ]


def _unproven_fusions(
    topology: dict[str, Any] | None, shapes: dict[str, list[int]], backends: Sequence[str]
) -> list[Unsupported]:
    """Fused nodes whose fusion (op, activation, bias, alpha layout) is not proven on some backend
    by ``fusion_support.json`` (e.g. tanh anywhere, leakyrelu in a depthwise conv on TF.js 4.22)."""
    users: dict[fs.Fusion, list[str]] = {}
    for node in (topology or {}).get("node", []):
        fusion = fs.node_fusion(node, shapes)
        if fusion is not None:
            users.setdefault(fusion, []).append(node["name"])
    found = []
    for fusion, nodes in sorted(users.items()):
        failing = fs.failing(fusion, backends)
        if failing:
            reason = "; ".join(f"{backend}: {why}" for backend, why in failing.items())
            found.append(Unsupported(fusion.describe(), tuple(failing), tuple(sorted(nodes)), reason))
    return found


def _used_by(item: Unsupported) -> str:
    if not item.nodes:
        return ""
    more = f" and {len(item.nodes) - MAX_NODES} more" if len(item.nodes) > MAX_NODES else ""
    return f" (used by {', '.join(item.nodes[:MAX_NODES])}{more})"


def _unproven_message(model: ModelConfig, item: Unsupported) -> str:
    """A fused node built by an older tfjs-build (or fusion table): rebuilding keeps that fusion apart."""
    return (f"{model.where('backends')}: {item.op}{_used_by(item)} is not proven to compute like TensorFlow on "
            f"{', '.join(item.backends)} in TF.js {fs.load().tfjs_version} ({item.reason}); rebuild with "
            f"`tfjs-build build {model.name} --force`, which keeps that fusion apart")


def _unsupported_message(model: ModelConfig, item: Unsupported) -> str:
    used = _used_by(item)
    return (f"{model.where('backends')}: {item.op}{used} cannot run on {', '.join(item.backends)} in TF.js "
            f"{ops.tfjs_version()} ({item.reason}); change the model to avoid it, or drop "
            f"{', '.join(item.backends)} from backends")
