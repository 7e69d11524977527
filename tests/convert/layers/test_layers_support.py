"""The support data names only classes the installed TF.js 4.22 really registers."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tfjs_build.convert.layers import support as S

LIST_REGISTRY = """
const tf = require('@tensorflow/tfjs');
const map = tf.serialization.SerializationMap.getMap().classNameMap;
process.stdout.write(JSON.stringify({version: tf.version.tfjs, classes: Object.keys(map)}));
"""


def camel(name: str) -> str:
    """tfjs-layers' toCamelCase, which convertPythonicToTs applies to every string value."""
    return re.sub(r"_+(\w|$)", lambda m: m.group(1).upper(), name) if "_" in name else name


@pytest.fixture(scope="module")
def registry(tfjs_available: Path) -> tuple[str, set[str]]:
    env = {**os.environ, "NODE_PATH": str(tfjs_available)}
    done = subprocess.run(["node", "-e", LIST_REGISTRY], capture_output=True, text=True, env=env, timeout=120,
                          check=True)
    data = json.loads(done.stdout)
    return data["version"], set(data["classes"])


@pytest.mark.node
def test_every_supported_name_is_registered_in_tfjs(registry: tuple[str, set[str]]) -> None:
    version, classes = registry
    assert version == S.TFJS_VERSION
    wanted = {
        "layer": set(S.LAYERS) | {"Functional", "Sequential"},
        "activation": {camel(name) for name in [*S.ACTIVATIONS.values(), *S.KERAS2_ONLY_ACTIVATIONS.values()]},
        "initializer": {target for target, _ in S.INITIALIZERS.values()},
        "constraint": set(S.CONSTRAINTS),
        "regularizer": {"L1L2"},
    }
    missing = {kind: sorted(names - classes) for kind, names in wanted.items() if names - classes}
    assert missing == {}


@pytest.mark.node
def test_classes_tfjs_lacks_are_not_claimed(registry: tuple[str, set[str]]) -> None:
    _, classes = registry
    for name in ("Subtract", "Lambda", "MultiHeadAttention", "Conv1DTranspose", "UpSampling1D"):
        assert name not in classes and name not in S.LAYERS
