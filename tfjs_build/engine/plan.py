"""What to rebuild, and why: each model is fresh, or stale with human-readable reasons.

``stale_reasons`` is pure (config + lock entry + input digests -> reasons); ``survey``
gathers those facts from disk for a whole project, looking at the output folders
only for models whose inputs are unchanged (a stale model's outputs will be replaced
anyway, so hashing them would be wasted work).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import tfjs_build
from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.fingerprint import ModelInputs, model_inputs, open_stat_cache
from tfjs_build.engine.lockfile import Lock, LockEntry, read_lock
from tfjs_build.engine.output_facts import output_mismatch
from tfjs_build.engine.stat_cache import StatCache
from tfjs_build.errors import TfjsBuildError

FORCED = "forced"


@dataclass(frozen=True)
class Step:
    model: str
    reasons: tuple[str, ...]  # empty when fresh
    inputs: ModelInputs

    @property
    def fresh(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "state": "fresh" if self.fresh else "stale",
            "reasons": list(self.reasons),
            "fingerprint": self.inputs.fingerprint,
        }


def stale_reasons(model: ModelConfig, inputs: ModelInputs, entry: LockEntry | None) -> list[str]:
    """Why the lock entry no longer describes what this model would build ([] when it does)."""
    if entry is None:
        return ["new model"]
    if entry.fingerprint == inputs.fingerprint:
        return []
    reasons = []
    if entry.converter != tfjs_build.CONVERTER_VERSION:
        reasons.append("converter upgraded")
    settings = model.output_settings()
    for key in sorted(settings.keys() | entry.settings.keys()):
        if settings.get(key) != entry.settings.get(key):
            reasons.append(f"config changed: {key}")
    for role in sorted(inputs.digests.keys() | entry.inputs.keys()):
        if inputs.digests.get(role) != entry.inputs.get(role):
            reasons.append(_input_reason(model, role))
    # Nothing we can name differs: the fingerprint's own layout changed (a tfjs-build upgrade).
    return reasons or ["fingerprint changed"]


def _input_reason(model: ModelConfig, role: str) -> str:
    kind, _, rest = role.partition("/")
    if kind == "source":
        shown = rest or (model.source_path.name if model.source_path else model.source)
        return f"source changed: {shown}"
    if kind == "metadata":
        return f"metadata changed: {rest}"
    return f"{role} changed"


def survey(
    config: Config, lock: Lock, stats: StatCache, names: Iterable[str] = (), force: bool = False
) -> list[Step]:
    """A step for each model named (all when none), in tfjs.yaml order."""
    models = config.select(names)
    digests = model_inputs(models, stats, config.root)
    steps = []
    for model in models:
        entry = lock.models.get(model.name)
        reasons = stale_reasons(model, digests[model.name], entry)
        if not reasons and entry is not None:
            mismatch = output_mismatch(config.model_output_dir(model.name), entry.files, stats)
            reasons = [mismatch.reason] if mismatch else []
        if force and not reasons:
            reasons = [FORCED]
        steps.append(Step(model.name, tuple(reasons), digests[model.name]))
    return steps


def current_plan(config: Config, lock: Lock | None = None, names: Iterable[str] = (), force: bool = False) -> list[Step]:
    """``survey`` against the project's tfjs.lock (or ``lock``), with its stat cache."""
    lock = read_lock(config.lock_path) if lock is None else lock
    with open_stat_cache(config.paths) as stats:
        return survey(config, lock, stats, names, force)


def require_fresh(config: Config, lock: Lock, models: Sequence[ModelConfig], before: str) -> None:
    """Raise naming every stale model: verifying or publishing a stale output would use the old one."""
    stale = [step for step in current_plan(config, lock, [m.name for m in models]) if not step.fresh]
    if stale:
        lines = [f"{config.model(s.model).where()}: {s.model} is stale ({'; '.join(s.reasons)})" for s in stale]
        names = " ".join(s.model for s in stale)
        raise TfjsBuildError("\n".join(lines) + f"\nrun `tfjs-build build {names}` before {before}")
