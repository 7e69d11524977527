"""Run every check on a project's config, its tfjs.lock and its built files -> one Report.

Checks read only what the build already recorded: figures from tfjs.lock, op node names
and fused activations from each model.json. Nothing here imports tensorflow, so
``tfjs-build check`` stays fast enough for a pre-commit hook.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfjs_build.checks import op_support as ops
from tfjs_build.checks.budgets import evaluate_budgets, missing_accuracy
from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.fingerprint import open_stat_cache
from tfjs_build.engine.lockfile import Lock, LockEntry
from tfjs_build.engine.output_facts import output_mismatch
from tfjs_build.engine.stat_cache import StatCache
from tfjs_build.project import ProjectPaths
from tfjs_build.report.record import Figures, ModelReport, Report, Unsupported

MAX_NODES = 5  # node names quoted per unsupported op; the rest are counted
FUSED_OPS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")
NOT_ACTIVATIONS = ("biasadd", "fusedbatchnorm", "fusedbatchnormv3", "add", "addv2")


def run_checks(config: Config, lock: Lock, names: Sequence[str] = ()) -> Report:
    """Check the models named (all when none are), in tfjs.yaml order."""
    models = config.select(names)
    with open_stat_cache(ProjectPaths(config.root)) as stats:
        return Report("check", tuple(check_model(config, model, lock.models.get(model.name), stats)
                                     for model in models))


def check_model(config: Config, model: ModelConfig, entry: LockEntry | None, stats: StatCache) -> ModelReport:
    if entry is None:
        return ModelReport(model.name, None, failures=(
            f"{model.where()}: not built yet (no entry in tfjs.lock); run `tfjs-build build {model.name}`",))
    budgets = evaluate_budgets(model, entry)
    failures = [line.message for line in budgets if not line.ok]
    failures += filter(None, [missing_accuracy(model, entry), _outputs_mismatch(config, model, entry, stats)])
    graph = entry.settings.get("format", "graph") == "graph"  # layers models run layer code, not graph ops
    unsupported, notes = _op_support(config, model, entry) if graph else ([], [])
    failures += [_unsupported_message(model, item) for item in unsupported]
    notes += _stale_settings(model, entry)
    return ModelReport(
        name=model.name,
        figures=Figures.from_entry(entry),
        budgets=budgets,
        unsupported=tuple(unsupported),
        failures=tuple(failures),
        notes=tuple(notes),
        weights=entry.weights,
    )


def _op_support(config: Config, model: ModelConfig, entry: LockEntry) -> tuple[list[Unsupported], list[str]]:
    """Ops and fused activations with node names from model.json; from the lock's op list when it is absent
    (e.g. CI checking a committed lock without building: fused activations were checked at build time)."""
    out_dir = config.model_output_dir(model.name)
    topology = _read_topology(out_dir / "model.json")
    unsupported = _unsupported_ops(entry, model.backends, topology) + _unsupported_fusions(topology, model.backends)
    notes = [] if topology is not None or not unsupported else [
        f"{model.name}: no model.json at {_shown(config, out_dir)} to name the nodes; "
        f"run `tfjs-build build {model.name}` to see them"]
    return unsupported, notes


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


def _read_topology(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or unreadable: checked from the lock alone
        return None
    topology = data.get("modelTopology") if isinstance(data, dict) else None
    return topology if isinstance(topology, dict) else None


def _unsupported_ops(entry: LockEntry, backends: Sequence[str], topology: dict[str, Any] | None) -> list[Unsupported]:
    """Ops some backend lacks: with node names from model.json, else from the lock's op list."""
    pairs = ops.topology_nodes(topology) if topology is not None else [(op, op) for op in entry.ops]
    return [
        Unsupported(item.op, item.backends, item.nodes if topology is not None else (), item.reason)
        for item in ops.find_unsupported(pairs, backends)
    ]


def _fused_activation(node: dict[str, Any]) -> str | None:
    """The activation a fused node applies, as TF.js names it (relu, tanh, ...), if any."""
    encoded = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
    names = [base64.b64decode(value).decode("utf-8", "replace").lower() for value in encoded]
    activations = [name for name in names if name not in NOT_ACTIVATIONS]
    return activations[-1] if activations else None


def _unsupported_fusions(topology: dict[str, Any] | None, backends: Sequence[str]) -> list[Unsupported]:
    """Fused ops whose activation some backend cannot run inside the fused kernel (e.g. tanh on 4.22)."""
    users: dict[str, list[str]] = {}
    for node in (topology or {}).get("node", []):
        activation = _fused_activation(node) if node.get("op") in FUSED_OPS else None
        if activation:
            users.setdefault(f"{node['op']} with fused {activation}", []).append(node["name"])
    found = []
    for fused, nodes in sorted(users.items()):
        activation = fused.rpartition(" ")[2]
        failing = tuple(b for b in backends if activation not in ops.fused_activations(b))
        if failing:
            reason = f"no fused {activation} kernel on {', '.join(failing)}"
            found.append(Unsupported(fused, failing, tuple(sorted(nodes)), reason))
    return found


def _unsupported_message(model: ModelConfig, item: Unsupported) -> str:
    used = ""
    if item.nodes:
        more = f" and {len(item.nodes) - MAX_NODES} more" if len(item.nodes) > MAX_NODES else ""
        used = f" (used by {', '.join(item.nodes[:MAX_NODES])}{more})"
    return (f"{model.where('backends')}: {item.op}{used} cannot run on {', '.join(item.backends)} in TF.js "
            f"{ops.tfjs_version()} ({item.reason}); change the model to avoid it, or drop "
            f"{', '.join(item.backends)} from backends")
