"""output_settings() feeds every model's fingerprint: its data, key order included, must never drift.

The expected data below is what the config module wrote before the field-table rewrite
(checked against it); a change here would make every built model stale.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_project import EVERY_KEY, load

# A model that sets nothing but its source (a local one), in the order output_settings() writes the keys.
UNSET = {
    "source": "", "sha256": "", "input_format": "saved_model", "format": "graph", "signature": "serving_default",
    "tags": ["serve"], "outputs": [], "quantize": {}, "shard_size": 4194304, "backends": ["cpu", "wasm", "webgl"],
    "strip_debug_ops": True, "control_flow_v2": False, "split_weights_by_layer": False, "metadata": [],
    "accuracy": {"samples": 8, "inputs": False},
}
EXPECTED = [  # EVERY_KEY's models; its defaults set backends: [cpu, wasm]
    {**UNSET, "tags": ["serve", "gpu"], "quantize": {"uint8": ["*/kernel"], "float16": ["*"]}, "shard_size": 524288,
     "backends": ["webgl", "cpu"], "strip_debug_ops": False, "control_flow_v2": True, "metadata": ["extra", "labels"],
     "accuracy": {"samples": 4, "inputs": True}},
    {**UNSET, "input_format": "frozen_graph", "outputs": ["logits"], "quantize": {"uint16": ["*"]},
     "backends": ["cpu", "wasm"]},
    {**UNSET, "sha256": "0" * 64, "input_format": "keras", "format": "layers", "backends": ["cpu", "wasm"],
     "split_weights_by_layer": True},
    {**UNSET, "source": "https://example.com/model.tar.gz", "sha256": "abcdef0123456789" * 4, "input_format": "auto",
     "backends": ["cpu", "wasm"]},
]


def test_output_settings_are_exactly_what_they_were(project: Path) -> None:
    config = load(project, EVERY_KEY)
    assert [json.dumps(model.output_settings()) for model in config.models] == [json.dumps(e) for e in EXPECTED]
    alone = load(project, "version: 1\nmodels:\n  a: {source: sm}\n").models[0]
    assert json.dumps(alone.output_settings()) == json.dumps(UNSET)


@pytest.mark.parametrize("setting", [
    "signature: other", "tags: [serve, gpu]", "quantize: uint8", "shard_size: 1MiB", "backends: [cpu]",
    "strip_debug_ops: false", "control_flow_v2: true", "metadata: {labels: labels.json}",
    "accuracy: {samples: 2}", "accuracy: {inputs: samples.npz}",
])
def test_each_output_key_changes_the_settings(project: Path, setting: str) -> None:
    base = load(project, "version: 1\nmodels:\n  a: {source: sm}\n").models[0].output_settings()
    changed = load(project, f"version: 1\nmodels:\n  a: {{source: sm, {setting}}}\n").models[0].output_settings()
    assert changed != base


@pytest.mark.parametrize("setting", ["budgets: {size: 1, shards: 2, params: 3, transfer: 4}",
                                     "accuracy: {max_error: 0.1}"])
def test_checked_limits_do_not_change_the_settings(project: Path, setting: str) -> None:
    base = load(project, "version: 1\nmodels:\n  a: {source: sm}\n").models[0].output_settings()
    limited = load(project, f"version: 1\nmodels:\n  a: {{source: sm, {setting}}}\n").models[0].output_settings()
    assert limited == base
