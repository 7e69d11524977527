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
and checks that both models give the same outputs in TF.js. Then, for models where the
reference's output fails in TF.js (the point of our own converter), whether each
converter's output matches TensorFlow in TF.js wasm.
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

from tfjs_build.errors import TfjsBuildError
from tfjs_build.verify.runner import run_in_tfjs, time_in_tfjs

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
    model = load_config(Path(sys.argv[1])).model(sys.argv[2])
    out = Path(sys.argv[3])
    out.mkdir(parents=True)
    convert_model(model, model.source_path, out, out.parent / "work")
""")

# Models where the reference's output does not run: stacked RNNs that return sequences
# (lowered or v2 control flow) and Keras MultiHeadAttention (Einsum) on wasm.
EDGE_EXPORT = textwrap.dedent("""
    import sys, keras, numpy as np
    from pathlib import Path
    keras.utils.set_random_seed(0)
    l, work = keras.layers, Path(sys.argv[1])
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    x = l.GRU(4)(l.LSTM(5, return_sequences=True)(l.Embedding(20, 6)(tokens)))
    seq = keras.Input((6, 8), name="sequence")
    models = {"text": keras.Model(tokens, l.Dense(2)(x)),
              "attention": keras.Model(seq, l.MultiHeadAttention(num_heads=2, key_dim=4)(seq, seq))}
    rng = np.random.default_rng(0)
    inputs = {"text": rng.integers(0, 20, (2, 7)).astype("int32"), "attention": rng.normal(size=(2, 6, 8)).astype("float32")}
    for name, net in models.items():
        net.export(str(work / name), verbose=False)
        np.savez(work / name / "inputs.npz", x=inputs[name], y=net(inputs[name]).numpy())
""")
EDGE_NAMES = {
    "text": "Embedding+LSTM(return_sequences)+GRU, lowered",
    "text-v2": "Embedding+LSTM(return_sequences)+GRU, control_flow_v2",
    "attention": "Keras MultiHeadAttention (Einsum)",
}


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


def reference_command(converter: Path, saved_model: Path, out_dir: Path, *extra: str) -> list[str]:
    return [str(converter), "--input_format=tf_saved_model", "--output_format=tfjs_graph_model",
            "--signature_name=serving_default", "--saved_model_tags=serve", *extra, str(saved_model), str(out_dir)]


def write_config(work: Path, models: dict[str, str]) -> Path:
    """tfjs.yaml with one model per (name -> extra settings), all from the SavedModel ``name``."""
    lines = ["version: 1", "models:"]
    for name, extra in models.items():
        lines += [f"  {name}:", f"    source: {name.removesuffix('-v2')}", "    backends: [cpu, wasm]"]
        lines += [extra] if extra else []
    path = work / f"tfjs-{'-'.join(models)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure_mobilenet(work: Path, args: argparse.Namespace, ref: Path) -> tuple[dict, float]:
    """The four ratios' figures, and how far the two models' TF.js outputs are apart."""
    saved_model = work / "mobilenet"
    subprocess.run([str(ref / "python"), "-c", EXPORT, str(saved_model)], check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, stderr=subprocess.DEVNULL)
    config = write_config(work, {"mobilenet": ""})
    ours, theirs = [], []
    for i in range(args.repeats):  # interleaved, so load from other processes hits both alike
        ours.append(run_measured([sys.executable, "-c", OURS, str(config), "mobilenet", str(work / "ours" / str(i))]))
        theirs.append(run_measured(reference_command(ref / "tensorflowjs_converter", saved_model, work / "ref" / str(i))))
    ours_model, ref_model = work / "ours" / "0", work / "ref" / "0"
    x = np.random.default_rng(0).standard_normal((1, 224, 224, 3)).astype("float32")
    [ours_out] = run_in_tfjs(ours_model, {input_key(ours_model): x}, "wasm").values()
    [ref_out] = run_in_tfjs(ref_model, {input_key(ref_model): x}, "wasm").values()
    ours_ms, ref_ms = [], []
    for _ in range(args.rounds):  # alternate the two models, so load changes hit both
        ours_ms += time_in_tfjs(ours_model, {input_key(ours_model): x}, "wasm", warmup=3, runs=args.runs)
        ref_ms += time_in_tfjs(ref_model, {input_key(ref_model): x}, "wasm", warmup=3, runs=args.runs)
    figures = {
        "wall": (statistics.median(w for w, _ in ours), statistics.median(w for w, _ in theirs), "s"),
        "peak RSS": (statistics.median(r for _, r in ours) / 2**20, statistics.median(r for _, r in theirs) / 2**20, "MiB"),
        "nodes": (count_nodes(ours_model), count_nodes(ref_model), ""),
        "wasm inference": (statistics.median(ours_ms), statistics.median(ref_ms), "ms"),
    }
    return figures, float(np.max(np.abs(ours_out - ref_out)))


def check_edges(work: Path, ref: Path) -> list[tuple[str, str, str]]:
    """(model, tfjs-build, reference): does each converter's output match TF in TF.js wasm?"""
    subprocess.run([str(ref / "python"), "-c", EDGE_EXPORT, str(work)], check=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, stderr=subprocess.DEVNULL)
    rows = []
    for name, flag in (("text", ""), ("text-v2", "--control_flow_v2=True"), ("attention", "")):
        extra = "    control_flow_v2: true" if name.endswith("-v2") else ""
        config = write_config(work, {name: extra})
        outcome = []
        for out_dir, command in (
            (work / "edge-ours" / name, [sys.executable, "-c", OURS, str(config), name, str(work / "edge-ours" / name)]),
            (work / "edge-ref" / name, reference_command(
                ref / "tensorflowjs_converter", work / name.removesuffix("-v2"), work / "edge-ref" / name,
                *filter(None, [flag]))),
        ):
            outcome.append(_edge_outcome(command, out_dir, work / name.removesuffix("-v2")))
        rows.append((EDGE_NAMES[name], *outcome))
    return rows


def _edge_outcome(command: list[str], out_dir: Path, folder: Path) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode != 0:
        return "conversion failed"
    inputs = dict(np.load(folder / "inputs.npz"))
    try:
        [got] = run_in_tfjs(out_dir, {input_key(out_dir): inputs["x"]}, "wasm").values()
    except TfjsBuildError as exc:
        return "TF.js: " + str(exc).rpartition("the model: ")[2][:60]
    error = float(np.max(np.abs(got - inputs["y"])))
    return f"ok ({error:.0e})" if error <= 1e-4 * (1 + float(np.max(np.abs(inputs["y"])))) else f"wrong ({error:.1e})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-venv", type=Path, default=Path("/tmp/refvenv"))
    parser.add_argument("--repeats", type=int, default=1, help="conversions per converter (median)")
    parser.add_argument("--runs", type=int, default=20, help="timed TF.js inferences per model and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per model")
    args = parser.parse_args()
    ref = args.reference_venv / "bin"
    if not (ref / "tensorflowjs_converter").exists():
        raise SystemExit(f"no reference converter in {ref}; see this file's docstring")
    with tempfile.TemporaryDirectory(prefix="bench-convert-") as tmp:
        figures, agreement = measure_mobilenet(Path(tmp), args, ref)
        edges = check_edges(Path(tmp), ref)
    print(f"Keras MobileNetV2 (random weights), tfjs-build vs tensorflowjs_converter 4.22, {args.repeats} conversion(s) each")
    print(f"{'':16}{'tfjs-build':>12}{'reference':>12}{'ratio':>8}{'target':>8}")
    for name, (mine, theirs, unit) in figures.items():
        ratio = mine / theirs
        verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
        print(f"{name:16}{mine:>10.1f}{unit:>2}{theirs:>10.1f}{unit:>2}{ratio:>8.2f}{'<= ' + str(TARGETS[name]):>10} {verdict}")
    print(f"outputs in TF.js wasm: max |tfjs-build - reference| = {agreement:.2e}")
    print("\nModels against TensorFlow in TF.js wasm (|a-b| <= 1e-4 (1 + max|b|)):")
    for name, mine, theirs in edges:
        print(f"  {name:48} tfjs-build: {mine:22} reference: {theirs}")


if __name__ == "__main__":
    main()
