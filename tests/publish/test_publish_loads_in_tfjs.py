"""End to end: models published to the nginx origin load in real TF.js (node) from there.

The client does what an app would: GET MODEL/latest.json, then tf.loadGraphModel on the
immutable model.json it names, whose shards TF.js fetches from the origin; and it loads
older versions by their own model.json URLs, in the same node process (one TF.js start).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest
from nginx_origin import origin_yaml

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import model_digest
from tfjs_build.tfjs_format.shards import shard_name
from tfjs_build.verify.runner import node_modules_dir

CLIENT = """
import { createRequire } from 'node:module';
console.log = console.warn = console.info = () => {};
const [nodeDir, base, input, pinned] = process.argv.slice(2);
const tf = createRequire(import.meta.url)(nodeDir + '/@tensorflow/tfjs');
await tf.setBackend('cpu');
const pointer = await (await fetch(base + '/latest.json')).json();
const answers = {};
for (const path of [pointer.model_json, ...JSON.parse(pinned || '[]')]) {
  const model = await tf.loadGraphModel(base + '/' + path);
  answers[path] = await model.predict(tf.tensor2d(JSON.parse(input))).array();
}
process.stdout.write(JSON.stringify({digest: pointer.digest, model_json: pointer.model_json, y: answers}));
"""


def dense_model(kernel: np.ndarray, bias: np.ndarray, content_named: bool = False) -> dict[str, bytes]:
    """y = x @ kernel + bias as a graph model: MatMul, AddV2; Const values live in the shards: one shard
    ``group1-shard1of1.bin`` (as builds before content naming wrote it), or one content-named shard per weight."""
    def dims(shape):
        return {"dim": [{"size": str(d)} for d in shape]}

    def const(name, value):
        tensor = {"dtype": "DT_FLOAT", "tensorShape": dims(value.shape)}
        return {"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": tensor}}}

    float_t = {"T": {"type": "DT_FLOAT"}}
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": dims([-1, 3])}}},
        const("w", kernel), const("b", bias),
        {"name": "mm", "op": "MatMul", "input": ["x", "w"],
         "attr": {"transpose_a": {"b": False}, "transpose_b": {"b": False}, **float_t}},
        {"name": "y", "op": "AddV2", "input": ["mm", "b"], "attr": float_t},
    ]
    model = {
        "format": "graph-model", "generatedBy": "hand", "convertedBy": "test_publish_loads_in_tfjs",
        "signature": {"inputs": {"x": {"name": "x:0", "dtype": "DT_FLOAT", "tensorShape": dims([-1, 3])}},
                      "outputs": {"y": {"name": "y:0", "dtype": "DT_FLOAT"}}},
        "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 1700}},
        "weightsManifest": [{"paths": [], "weights": [
            {"name": "w", "shape": list(kernel.shape), "dtype": "float32"},
            {"name": "b", "shape": list(bias.shape), "dtype": "float32"}]}],
    }
    weights = [kernel.astype("<f4").tobytes(), bias.astype("<f4").tobytes()]
    if content_named:
        shards = {shard_name(hashlib.sha256(data).hexdigest()): data for data in weights}
    else:
        shards = {"group1-shard1of1.bin": b"".join(weights)}
    model["weightsManifest"][0]["paths"] = list(shards)
    return {**shards, "model.json": json.dumps(model).encode()}


def run_client(project, url: str, x: list[list[float]], pinned: list[str]) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: TF.js tests need Node.js >= 18 on PATH")
    script = project.root / "client.mjs"
    script.write_text(CLIENT)
    result = subprocess.run([node, str(script), str(node_modules_dir()), url, json.dumps(x), json.dumps(pinned)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.node
def test_versions_of_both_layouts_load_side_by_side_and_share_unchanged_shards(project, nginx):
    """v0 in the digest layout (shards named before content naming), then v1 and v2 with content-named shards,
    v2 changing only the bias: the kernel shard is uploaded once, and all three versions compute in TF.js."""
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) / 4
    biases = [np.array([0.5, -1.0], dtype=np.float32), np.array([1.5, 2.0], dtype=np.float32),
              np.array([-3.0, 0.25], dtype=np.float32)]
    project.write_config(origin_yaml(f"{nginx.url}/versions"), models=("dense",))
    pinned = []
    for i, bias in enumerate(biases):
        project.build_files("dense", dense_model(kernel, bias, content_named=i > 0))
        before = len(nginx.requests("PUT"))
        assert project.publish() == 0
        digest = model_digest(read_lock(project.root / "tfjs.lock").models["dense"])
        pinned.append(f"{digest}/model.json" if i == 0 else f"model-{digest}.json")
        if i == 2:  # only the bias shard, the version's model.json, the index and the pointer
            bias_shard = shard_name(hashlib.sha256(bias.astype("<f4").tobytes()).hexdigest())
            assert [p.rsplit("/", 1)[1] for p in nginx.requests("PUT")[before:]] == [
                bias_shard, pinned[-1], "versions.json", "latest.json"]

    x = [[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]]
    answer = run_client(project, f"{nginx.url}/versions/dense", x, pinned[:2])
    assert answer["model_json"] == pinned[2]
    for path, bias in zip(pinned, biases, strict=True):
        np.testing.assert_allclose(np.array(answer["y"][path]), np.array(x) @ kernel + bias, rtol=1e-6)
    assert f"/versions/dense/{pinned[0]}".replace("model.json", "group1-shard1of1.bin") in nginx.requests("GET")
