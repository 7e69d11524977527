"""A fine-tuned head rewrites only the head's shards, for the real converter in both formats.

A small Keras classifier (convolutions, then a Dense head) is converted with small shards;
then only the head's weights change (as fine-tuning the classifier does) and it is
converted again. Shards are content-named, so an unchanged shard keeps its name: the new
names must be exactly the shards that hold a head weight, and there must be others.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.config import load_config

from .decoder import weights_by_shard

pytestmark = pytest.mark.slow
HEAD = "head"


def _classifier(path: Path, *, head_seed: int | None = None) -> Path:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(5)
    image = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(16, 3, activation="relu", name="stem")(image)
    x = keras.layers.Conv2D(32, 3, activation="relu", name="block1")(x)
    x = keras.layers.Conv2D(32, 3, activation="relu", name="block2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(24, activation="relu", name="neck")(x)
    probs = keras.layers.Dense(5, activation="softmax", name=HEAD)(x)
    net = keras.Model(image, probs)
    rng = np.random.default_rng(1)
    for layer in net.layers:  # non-zero biases everywhere: no constant is shared between layers
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.2 for w in layer.get_weights()])
    if head_seed is not None:  # "fine-tuned": only the head's weights move
        tuned = np.random.default_rng(head_seed)
        head = net.get_layer(HEAD)
        head.set_weights([w + tuned.standard_normal(w.shape).astype(np.float32) * 0.01 for w in head.get_weights()])
    net.save(path)
    return path


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The classifier before and after fine-tuning its head."""
    folder = tmp_path_factory.mktemp("versions")
    return _classifier(folder / "v1.keras"), _classifier(folder / "v2.keras", head_seed=9)


def _convert(project: Path, source: Path, fmt: str, quantize: str) -> tuple[Path, list[dict]]:
    from tfjs_build.convert import convert_model

    project.mkdir()
    (project / "net.keras").write_bytes(source.read_bytes())
    (project / "tfjs.yaml").write_text(f"version: 1\nmodels:\n  net:\n    source: net.keras\n    format: {fmt}\n"
                                       f"    shard_size: 2KiB\n    quantize: {quantize}\n")
    model = load_config(project / "tfjs.yaml").model("net")
    out_dir, work_dir = project / "out", project / "work"
    out_dir.mkdir()
    work_dir.mkdir()
    convert_model(model, project / "net.keras", out_dir, work_dir)
    return out_dir, json.loads((out_dir / "model.json").read_text())["weightsManifest"]


@pytest.mark.parametrize(("fmt", "quantize"), [("graph", "none"), ("graph", "uint8"), ("layers", "none")])
def test_head_only_change_rewrites_only_the_head_shards(
    tmp_path: Path, versions: tuple[Path, Path], fmt: str, quantize: str
) -> None:
    before_dir, before = _convert(tmp_path / "v1", versions[0], fmt, quantize)
    after_dir, after = _convert(tmp_path / "v2", versions[1], fmt, quantize)
    old = {path for group in before for path in group["paths"]}
    holders = weights_by_shard(after_dir, after)
    head_weights = {name for names in holders.values() for name in names if f"{HEAD}/" in name or f"{HEAD}_" in name}
    assert head_weights, f"no weight of the {HEAD!r} layer found in {sorted(set().union(*holders.values()))}"
    head_shards = {path for path, names in holders.items() if head_weights & set(names)}
    new = {path for group in after for path in group["paths"]} - old
    assert new == head_shards
    for names in holders.values():  # cut between weights: a weight spans shards only when alone in each
        assert len(names) == 1 or all(sum(name in other for other in holders.values()) == 1 for name in names)
    assert len(holders) >= 4 and len(holders) - len(new) >= 3  # most shards are kept
    kept_bytes = sum((before_dir / path).stat().st_size for path in set(holders) - new)
    new_bytes = sum((after_dir / path).stat().st_size for path in new)
    assert new_bytes < kept_bytes
