"""The fusion matrix, measured again in real TF.js (node cpu and wasm, webgl in headless Chromium),
and a model whose fusions the committed table withholds for some backends.

(a) A seeded subset of ``scripts/gen_fusion_support.py``'s patterns (always including the known
    broken ones) is converted and run now; every fusion/backend verdict must equal the committed
    ``fusion_support.json``. (b) A Keras model with DepthwiseConv2D + LeakyReLU(0.1) (wrong on every
    backend in TF.js 4.22) and a 1x1 Conv2D + per-position PReLU on an odd width (wrong on webgl
    only) matches TensorFlow on all three backends when built for them; built for cpu the PReLU
    fusion is emitted; built trusting every fusion (the table ignored) it does not match.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.checks import fusion_support as fs

from .scripts_loader import load_script

pytestmark = [pytest.mark.slow, pytest.mark.node, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("cpu", "wasm", "webgl")
SUBSET_SEED = 10
SUBSET_KEYS = 10  # random fusion keys measured besides the known broken ones (~30 patterns in all)
KNOWN_BROKEN = (
    "FusedDepthwiseConv2dNative/leakyrelu/bias",  # every backend: leakyrelu_alpha never reaches the kernel
    "_FusedConv2D/prelu:per_position/bias",  # webgl: 1x1 conv on a packed odd-width input
    "_FusedMatMul[transpose_b]/none/bias",  # wasm: bias added wrongly with transpose_b
)


def generator() -> Any:
    return load_script("gen_fusion_support")


def committed() -> dict[str, Any]:
    return json.loads((ROOT / "tfjs_build/checks/fusion_support.json").read_text(encoding="utf-8"))


def test_table_covers_exactly_the_fusions_the_passes_emit() -> None:
    """A fusion added to fuse.py/prelu.py without regenerating the table is caught here, cheaply."""
    keys = {pattern.fusion.key for pattern in generator().all_patterns()}
    data = committed()
    assert data["tfjs_version"] == "4.22.0"
    for backend in BACKENDS:
        entry = data["backends"][backend]
        assert set(entry["proven"]) | set(entry["failed"]) == keys, backend
        assert not set(entry["proven"]) & set(entry["failed"]), backend


def test_committed_table_is_what_tfjs_computes_now(tfjs_available: Path, chromium: str) -> None:
    gen = generator()
    patterns = gen.all_patterns()
    keys = sorted({p.fusion.key for p in patterns} - set(KNOWN_BROKEN))
    chosen = set(KNOWN_BROKEN) | set(np.random.default_rng(SUBSET_SEED).choice(keys, SUBSET_KEYS, replace=False))
    subset = [p for p in patterns if p.fusion.key in chosen]
    measured = gen.measure(subset, BACKENDS)
    table = committed()["backends"]
    for backend in BACKENDS:
        expected = {key: table[backend]["failed"].get(key) for key in sorted(chosen)}
        assert all(key in table[backend]["proven"] for key, why in expected.items() if why is None)
        assert gen.table_entries(subset, measured[backend]) == expected, backend
    assert table["cpu"]["failed"][KNOWN_BROKEN[0]] == "NaN in the output"


def build_model() -> Any:
    import keras

    from .graphs import randomize

    layers = keras.layers
    image = keras.Input((7, 7, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(image)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.LeakyReLU(negative_slope=0.1, name="leaky")(x)
    x = layers.Conv2D(5, 1, name="pointwise")(x)  # 1x1 on a 7-wide input: webgl's odd-width path
    x = layers.PReLU(name="prelu")(x)  # alpha per position, (7, 7, 5)
    net = keras.Model(image, layers.Dense(3, name="head")(layers.GlobalAveragePooling2D(name="pool")(x)))
    randomize(net, seed=7)
    return net


def convert(net: Any, root: Path, backends: tuple[str, ...], name: str) -> tuple[Path, dict[str, Any], tuple[str, ...]]:
    """tfjs-build's conversion for ``backends``: (model folder, model.json, rewrites report)."""
    from tfjs_build.config import load_config
    from tfjs_build.convert import convert_model

    project = root / name
    project.mkdir()
    net.save(project / "net.keras")
    (project / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  net:\n    source: net.keras\n    backends: [{', '.join(backends)}]\n", encoding="utf-8")
    model = load_config(project / "tfjs.yaml").model("net")
    (project / "out").mkdir()
    try:
        result = convert_model(model, model.source_path, project / "out", project / "work")
    finally:
        shutil.rmtree(project / "work", ignore_errors=True)
    return project / "out", json.loads((project / "out/model.json").read_text(encoding="utf-8")), result.rewrites


def fusions(model_json: dict[str, Any]) -> list[str]:
    shapes = {w["name"]: w["shape"] for group in model_json["weightsManifest"] for w in group["weights"]}
    return sorted(f.key for f in (fs.node_fusion(n, shapes) for n in model_json["modelTopology"]["node"]) if f)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    net = build_model()
    root = tmp_path_factory.mktemp("withheld")
    trusted = fs.FusionTable.assume_proven(
        (p.fusion for p in generator().all_patterns()), BACKENDS, fs.load().tfjs_version)
    with fs.override(trusted):
        ignored = convert(net, root, BACKENDS, "ignored")
    image = np.random.default_rng(8).normal(size=(2, 7, 7, 3)).astype(np.float32)
    return {"net": net, "image": image, "expected": net(image).numpy(), "ignored": ignored,
            "all": convert(net, root, BACKENDS, "all"), "cpu": convert(net, root, ("cpu",), "cpu")}


def withheld_line(description: str, key: str, backends: tuple[str, ...]) -> str:
    reasons = "; ".join(f"{b}: {fs.load().failed[b][key]}" for b in backends)
    return (f"withheld 1 {description} fusion (the activation stays a separate op): not proven in TF.js 4.22.0 "
            f"({reasons})")


def test_withheld_fusions_are_emitted_only_where_proven(builds: dict[str, Any]) -> None:
    leaky_dw = "FusedDepthwiseConv2dNative/leakyrelu/bias"
    prelu = "_FusedConv2D/prelu:per_position/bias"
    _, all_json, all_rewrites = builds["all"]
    _, cpu_json, cpu_rewrites = builds["cpu"]
    assert leaky_dw not in fusions(all_json) and prelu not in fusions(all_json)
    assert "FusedDepthwiseConv2dNative/none/bias" in fusions(all_json)  # the bias still fuses
    assert prelu in fusions(cpu_json) and leaky_dw not in fusions(cpu_json)  # cpu drops leakyrelu_alpha too
    assert {leaky_dw, prelu} <= set(fusions(builds["ignored"][1]))
    assert [line for line in all_rewrites if line.startswith("withheld")] == [
        withheld_line("FusedDepthwiseConv2dNative + leakyrelu", leaky_dw, BACKENDS),
        withheld_line("_FusedConv2D + prelu (per position)", prelu, ("webgl",)),
    ]
    assert [line for line in cpu_rewrites if line.startswith("withheld")] == [
        withheld_line("FusedDepthwiseConv2dNative + leakyrelu", leaky_dw, ("cpu",))]


def test_withheld_model_matches_tensorflow_on_every_backend(
    builds: dict[str, Any], tfjs_available: Path, chromium: str, assert_close: Callable
) -> None:
    """One TF.js process per backend runs every build; the table-ignoring build is the control."""
    from tfjs_build.verify.runner import run_batch_in_tfjs

    models = [(builds[name][0], {next(iter(builds[name][1]["signature"]["inputs"])): builds["image"]})
              for name in ("all", "cpu", "ignored")]
    for backend in BACKENDS:
        results = run_batch_in_tfjs(models if backend == "cpu" else models[:1] + models[2:], backend)
        assert not [r for r in results if isinstance(r, Exception)], results
        *proven, ignored = [next(iter(r.values())) for r in results]  # type: ignore[union-attr]
        for got in proven:
            assert_close(got, builds["expected"], rtol=1e-4)
        with pytest.raises(AssertionError):  # the defect is real here: ignoring the table gives wrong numbers
            assert_close(ignored, builds["expected"], rtol=1e-4)
