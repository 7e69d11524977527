"""End to end: a model published to the nginx origin loads in real TF.js (node) from there.

The client does what an app would: GET MODEL/latest.json, then tf.loadGraphModel on the
immutable model.json it names, whose shards TF.js fetches from the origin.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from nginx_origin import origin_yaml

from tfjs_build.verify.runner import node_modules_dir

CLIENT = """
import { createRequire } from 'node:module';
console.log = console.warn = console.info = () => {};
const [nodeDir, base, input] = process.argv.slice(2);
const tf = createRequire(import.meta.url)(nodeDir + '/@tensorflow/tfjs');
await tf.setBackend('cpu');
const pointer = await (await fetch(base + '/latest.json')).json();
const model = await tf.loadGraphModel(base + '/' + pointer.model_json);
const y = model.predict(tf.tensor2d(JSON.parse(input)));
process.stdout.write(JSON.stringify({digest: pointer.digest, y: await y.array()}));
"""


def dense_model(kernel: np.ndarray, bias: np.ndarray) -> dict[str, bytes]:
    """y = x @ kernel + bias as a graph model: MatMul, AddV2; Const values live in the shard."""
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
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
            {"name": "w", "shape": list(kernel.shape), "dtype": "float32"},
            {"name": "b", "shape": list(bias.shape), "dtype": "float32"}]}],
    }
    shard = kernel.astype("<f4").tobytes() + bias.astype("<f4").tobytes()
    return {"model.json": json.dumps(model).encode(), "group1-shard1of1.bin": shard}


@pytest.mark.slow
@pytest.mark.node
def test_a_published_model_loads_in_tfjs_from_the_origin(project, nginx):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: TF.js tests need Node.js >= 18 on PATH")
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) / 4
    bias = np.array([0.5, -1.0], dtype=np.float32)
    project.write_config(origin_yaml(f"{nginx.url}/e2e"), models=("dense",))
    project.build_files("dense", dense_model(kernel, bias))
    assert project.publish() == 0

    x = [[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]]
    script = project.root / "client.mjs"
    script.write_text(CLIENT)
    result = subprocess.run([node, str(script), str(node_modules_dir()), f"{nginx.url}/e2e/dense", json.dumps(x)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout)
    np.testing.assert_allclose(np.array(answer["y"]), np.array(x) @ kernel + bias, rtol=1e-6)
    assert f"/e2e/dense/{answer['digest']}/group1-shard1of1.bin" in nginx.requests("GET")
