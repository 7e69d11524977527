"""Benchmark: tfjs-build's graph converter against the reference ``tensorflowjs_converter`` 4.22.

Run by hand: ``.venv/bin/python bench/convert.py [--reference-venv /tmp/refvenv] [--repeats 1]``.
The reference lives in its own venv, never a project dependency:
``python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install tensorflowjs==4.22.0 ydf==0.13.0``.

One Keras MobileNetV2 with random weights is exported once as a SavedModel (by the
reference venv's older TensorFlow, so both converters can read it); each converter
then runs in its own fresh process (imports included, as a user runs it) and the
bench prints, as tfjs-build / reference (targets in brackets):
- wall time of the conversion process (<= 0.6), medians over ``--repeats``;
- peak RSS of that process, from wait4's ru_maxrss (<= 0.6);
- graph nodes in model.json, function bodies included (<= 1.0);
- TF.js wasm (node) median inference time after discarded warm-up runs (<= 0.9),
  both models timed alternately in the same way;
and checks that both models give the same outputs in TF.js.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from tfjs_build.tfjs_runtime import run_in_tfjs, time_in_tfjs

TARGETS = {"wall": 0.6, "peak RSS": 0.6, "nodes": 1.0, "wasm inference": 0.9}

EXPORT = textwrap.dedent("""
    import sys, keras, numpy as np
    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    for layer in net.layers:  # random batch-norm statistics, so folding has real work
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = (w.numpy() for w in layer.weights)
            rng = np.random.default_rng(len(layer.name))
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.1, b.shape),
                               rng.normal(0, 0.1, m.shape), rng.uniform(0.5, 1.5, v.shape)])
    net.export(sys.argv[1], verbose=False)
""")

OURS = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tfjs_build.config import load_config
    from tfjs_build.convert import convert_model
    model = load_config(Path(sys.argv[1])).model("mobilenet")
    convert_model(model, model.source_path, Path(sys.argv[2]), Path(sys.argv[2]).parent / "work")
""")


def run_measured(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process, which must succeed."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss * 1024


def count_nodes(model_dir: Path) -> int:
    topology = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["modelTopology"]
    functions = topology.get("library", {}).get("function", [])
    return len(topology["node"]) + sum(len(f.get("nodeDef", [])) for f in functions)


def input_key(model_dir: Path) -> str:
    [key] = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["signature"]["inputs"]
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-venv", type=Path, default=Path("/tmp/refvenv"))
    parser.add_argument("--repeats", type=int, default=1, help="conversions per converter (median)")
    parser.add_argument("--runs", type=int, default=20, help="timed TF.js inferences per model and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per model")
    args = parser.parse_args()
    ref_python = args.reference_venv / "bin" / "python"
    ref_converter = args.reference_venv / "bin" / "tensorflowjs_converter"
    if not ref_converter.exists():
        raise SystemExit(f"no reference converter at {ref_converter}; see this file's docstring")

    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        work = Path(tmp)
        saved_model = work / "mobilenet_v2"
        subprocess.run([str(ref_python), "-c", EXPORT, str(saved_model)], check=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, stderr=subprocess.DEVNULL)
        (work / "tfjs.yaml").write_text(
            "version: 1\nmodels:\n  mobilenet:\n    source: mobilenet_v2\n    backends: [cpu, wasm]\n", encoding="utf-8"
        )
        ours_dir, ref_dir = work / "ours", work / "reference"
        ours, ref = [], []
        for i in range(args.repeats):  # interleaved, so load from other processes hits both alike
            ours.append(run_measured([sys.executable, "-c", OURS, str(work / "tfjs.yaml"), str(ours_dir / str(i))]))
            ref.append(run_measured([
                str(ref_converter), "--input_format=tf_saved_model", "--output_format=tfjs_graph_model",
                "--signature_name=serving_default", "--saved_model_tags=serve", str(saved_model), str(ref_dir / str(i)),
            ]))
        ours_model, ref_model = ours_dir / "0", ref_dir / "0"

        x = np.random.default_rng(0).standard_normal((1, 224, 224, 3)).astype("float32")
        got = {name: run_in_tfjs(d, {input_key(d): x}, "wasm") for name, d in (("ours", ours_model), ("ref", ref_model))}
        [ours_out], [ref_out] = got["ours"].values(), got["ref"].values()
        agreement = float(np.max(np.abs(ours_out - ref_out)))

        ours_ms, ref_ms = [], []
        for _ in range(args.rounds):  # alternate the two models, so load changes hit both
            ours_ms += time_in_tfjs(ours_model, {input_key(ours_model): x}, "wasm", warmup=3, runs=args.runs)
            ref_ms += time_in_tfjs(ref_model, {input_key(ref_model): x}, "wasm", warmup=3, runs=args.runs)

        figures = {
            "wall": (statistics.median(w for w, _ in ours), statistics.median(w for w, _ in ref), "s"),
            "peak RSS": (statistics.median(r for _, r in ours) / 2**20, statistics.median(r for _, r in ref) / 2**20, "MiB"),
            "nodes": (count_nodes(ours_model), count_nodes(ref_model), ""),
            "wasm inference": (statistics.median(ours_ms), statistics.median(ref_ms), "ms"),
        }
    print(f"Keras MobileNetV2 (random weights), tfjs-build vs tensorflowjs_converter 4.22, {args.repeats} conversion(s) each")
    print(f"{'':16}{'tfjs-build':>12}{'reference':>12}{'ratio':>8}{'target':>8}")
    for name, (mine, theirs, unit) in figures.items():
        ratio = mine / theirs
        verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
        print(f"{name:16}{mine:>10.1f}{unit:>2}{theirs:>10.1f}{unit:>2}{ratio:>8.2f}{'<= ' + str(TARGETS[name]):>10} {verdict}")
    print(f"outputs in TF.js wasm: max |tfjs-build - reference| = {agreement:.2e}")


if __name__ == "__main__":
    main()
