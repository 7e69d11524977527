"""The converter zoo's models: tiny, random weights, built at test time (fixtures in conftest.py).

Each entry is saved in the input format it exercises, listed in one tfjs.yaml, converted
once, and carries TensorFlow's own outputs (from the original model, not from our
frozen graph) on fixed inputs, so every test compares TF.js against real TensorFlow.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build.config import ModelConfig
from tfjs_build.convert.result import ConvertResult

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class ZooModel:
    name: str
    model: ModelConfig
    out_dir: Path
    result: ConvertResult
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


# ---------------------------------------------------------------- model builders (TF imported lazily)


def _randomize_batch_norms(net: Any, rng: np.random.Generator) -> None:
    """Non-trivial BN statistics, so folding them into the convolutions really changes weights."""
    for layer in net.layers:
        if type(layer).__name__ == "BatchNormalization":  # Keras 3 or tf_keras
            gamma, beta, mean, var = (w.numpy() for w in layer.weights)
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.3, beta.shape),
                rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, var.shape),
            ])


def build_convnet(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """Conv + BN + depthwise + every activation TF.js may fuse, and a residual block (.keras)."""
    import keras

    layers = keras.layers
    image = keras.Input((12, 12, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same")(image)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    shortcut = x
    for activation in ("tanh", "sigmoid", "swish", "hard_swish"):
        x = layers.Conv2D(8, 1, activation=activation)(x)
    x = layers.Conv2D(8, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Add()([x, shortcut])
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)  # MobileNet's stride-2 padding: merged into the conv
    x = layers.DepthwiseConv2D(3, strides=2)(x)
    x = layers.PReLU(shared_axes=[1, 2])(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(16)(x)
    x = layers.Activation("gelu")(x)  # exact GELU: Erfc, which TF.js lacks
    probs = layers.Dense(5, activation="softmax", name="probs")(x)
    net = keras.Model(image, probs)
    _randomize_batch_norms(net, rng)
    for layer in net.layers:
        if isinstance(layer, layers.PReLU):
            layer.set_weights([rng.uniform(0.05, 0.4, w.shape) for w in layer.get_weights()])
    path = folder / "convnet.keras"
    net.save(path)
    inputs = {"image": rng.standard_normal((2, 12, 12, 3)).astype("float32")}
    np.savez(folder / "convnet-inputs.npz", **inputs)  # the accuracy gate's samples (convnet-uint8)
    return path.name, inputs, lambda: {"probs": net(inputs["image"], training=False).numpy()}


def build_text(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """Embedding + LSTM + GRU + bidirectional LSTM over int token ids (.h5, Keras' legacy format)."""
    import keras

    layers = keras.layers
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    x = layers.Embedding(20, 6)(tokens)
    x = layers.LSTM(5, return_sequences=True)(x)
    x = layers.GRU(4, return_sequences=True)(x)
    x = layers.Bidirectional(layers.LSTM(3))(x)
    scores = layers.Dense(2, name="scores")(x)
    net = keras.Model(tokens, scores)
    path = folder / "text.h5"
    net.save(path)
    inputs = {"tokens": rng.integers(0, 20, (2, 7)).astype("int32")}
    return path.name, inputs, lambda: {"scores": net(inputs["tokens"], training=False).numpy()}


def build_legacy(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A Keras 2 (tf_keras) model saved as .h5, as older projects have them."""
    import tf_keras

    layers = tf_keras.layers
    features = tf_keras.Input((6,), name="features")
    x = layers.BatchNormalization()(layers.Dense(5, activation="relu")(features))
    net = tf_keras.Model(features, layers.Dense(2, activation="softmax", name="probs")(x))
    _randomize_batch_norms(net, rng)
    path = folder / "legacy.h5"
    net.save(path)
    inputs = {"features": rng.standard_normal((3, 6)).astype("float32")}
    return path.name, inputs, lambda: {"probs": net(inputs["features"], training=False).numpy()}


def build_attention(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A self-attention block (scaled dot product, softmax, residual, layer norm) exported as a SavedModel.

    Written with matmuls: keras' MultiHeadAttention uses Einsum, which TF.js has no wasm kernel
    for (test_errors checks that conversion refuses it for wasm).
    """
    import keras
    import tensorflow as tf

    layers, ops = keras.layers, keras.ops
    seq = keras.Input((6, 8), name="sequence")
    q, k, v = (layers.Dense(8)(seq) for _ in range(3))
    scores = layers.Softmax()(ops.matmul(q, ops.transpose(k, (0, 2, 1))) / np.sqrt(8.0))
    x = layers.LayerNormalization()(seq + ops.matmul(scores, v))
    x = layers.LayerNormalization()(x + layers.Dense(8)(layers.Dense(16, activation="relu")(x)))
    net = keras.Model(seq, layers.Dense(3)(x))
    path = folder / "attention"
    net.export(str(path), verbose=False)
    inputs = {"sequence": rng.standard_normal((2, 6, 8)).astype("float32")}
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return path.name, inputs, lambda: {k: v.numpy() for k, v in serve(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def build_multi(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """Two named inputs, a dict of two named outputs (.keras): structuredOutputKeys."""
    import keras

    layers = keras.layers
    image = keras.Input((8, 8, 1), name="image")
    meta = keras.Input((4,), name="meta")
    x = layers.Flatten()(layers.Conv2D(2, 3, activation="relu")(image))
    x = layers.Concatenate()([x, meta])
    net = keras.Model(
        {"image": image, "meta": meta},
        {"label": layers.Dense(3, activation="softmax")(x), "box": layers.Dense(4)(x)},
    )
    path = folder / "multi.keras"
    net.save(path)
    inputs = {"image": rng.standard_normal((2, 8, 8, 1)).astype("float32"),
              "meta": rng.standard_normal((2, 4)).astype("float32")}
    return path.name, inputs, lambda: {k: v.numpy() for k, v in net(inputs, training=False).items()}


def _loop_module() -> Any:
    import tensorflow as tf

    class Looper(tf.Module):
        """y = x @ w applied n times, then a branch on the sign of its sum."""

        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(3).normal(0, 0.5, (4, 4)).astype("float32"))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x"),
                                      tf.TensorSpec([], tf.int32, name="steps")])
        def __call__(self, x: Any, steps: Any) -> Any:
            i = tf.constant(0)
            _, y = tf.while_loop(lambda i, y: i < steps, lambda i, y: (i + 1, tf.tanh(y @ self.w)), (i, x))
            out = tf.cond(tf.reduce_sum(y) > 0, lambda: y * 2.0, lambda: y - 1.0)
            return {"y": out}

    return Looper()


def build_looper(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A tf.Module with a while loop and a conditional, as a SavedModel with a signature."""
    import tensorflow as tf

    module = _loop_module()
    path = folder / "looper"
    tf.saved_model.save(module, str(path), signatures=module.__call__.get_concrete_function())
    inputs = {"x": rng.standard_normal((3, 4)).astype("float32"), "steps": np.array(3, dtype="int32")}
    return path.name, inputs, lambda: {k: v.numpy() for k, v in module(**inputs).items()}


def build_table(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A string -> id hash table (the modelInitializer) next to a variable."""
    import tensorflow as tf

    class Lookup(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            init = tf.lookup.KeyValueTensorInitializer(
                tf.constant(["cat", "dog", "web", "flow"]), tf.constant([3, 1, 4, 1], tf.int64)
            )
            self.table = tf.lookup.StaticHashTable(init, default_value=-1)
            self.scale = tf.Variable(0.5)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def __call__(self, words: Any) -> Any:
            ids = self.table.lookup(words)
            return {"ids": ids, "weighted": tf.cast(ids, tf.float32) * self.scale}

    module = Lookup()
    path = folder / "table"
    tf.saved_model.save(module, str(path), signatures=module.__call__.get_concrete_function())
    inputs = {"words": np.array(["dog", "fish", "flow"], dtype=object)}
    return path.name, inputs, lambda: {k: v.numpy() for k, v in module(tf.constant(inputs["words"].astype(str))).items()}


def build_hub(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A TF2 Hub-style module: a SavedModel whose entry point is ``__call__`` (no signature)."""
    import tensorflow as tf

    class Encoder(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(5).normal(0, 0.3, (6, 3)).astype("float32"))
            self.b = tf.Variable(np.random.default_rng(6).normal(0, 0.3, (3,)).astype("float32"))

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32)])
        def __call__(self, inputs: Any) -> Any:
            return tf.nn.relu(inputs @ self.w + self.b)

    module = Encoder()
    path = folder / "hub"
    tf.saved_model.save(module, str(path), signatures={})
    inputs = {"inputs": rng.standard_normal((2, 6)).astype("float32")}
    return path.name, inputs, lambda: {"output_0": module(inputs["inputs"]).numpy()}


def build_frozen(folder: Path, rng: np.random.Generator) -> tuple[str, dict[str, np.ndarray], Callable]:
    """A TF1 frozen GraphDef (.pb) with a placeholder, constants and a named output node."""
    import tensorflow as tf

    w = rng.standard_normal((5, 3)).astype("float32")
    b = rng.standard_normal((3,)).astype("float32")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 5], name="features")
        hidden = tf.nn.relu6(tf.matmul(x, tf.constant(w)) + tf.constant(b))
        tf.identity(tf.nn.softmax(hidden * 2.0), name="probabilities")
    path = folder / "frozen.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    inputs = {"features": rng.standard_normal((4, 5)).astype("float32")}

    def expected() -> dict[str, np.ndarray]:
        with tf.compat.v1.Session(graph=graph) as session:
            return {"probabilities": session.run("probabilities:0", {"features:0": inputs["features"]})}

    return path.name, inputs, expected


BUILDERS: dict[str, Callable[[Path, np.random.Generator], tuple[str, dict[str, np.ndarray], Callable]]] = {
    "convnet": build_convnet,
    "text": build_text,
    "legacy": build_legacy,
    "attention": build_attention,
    "multi": build_multi,
    "looper": build_looper,
    "table": build_table,
    "hub": build_hub,
    "frozen": build_frozen,
}
# Extra settings per model in tfjs.yaml; variants convert a built model again with other settings.
EXTRA = {
    "frozen": "    outputs: [probabilities]\n",
    "hub": "    input_format: tf_hub\n",
}
VARIANTS = {
    "looper-v2": ("looper", "    control_flow_v2: true\n"),
    "convnet-uint8": ("convnet", "    quantize: uint8\n    accuracy:\n      inputs: convnet-inputs.npz\n"),
    "table-uint8": ("table", "    quantize: uint8\n"),
    "text-v2": ("text", "    control_flow_v2: true\n"),  # TensorLists written inside v2 loops
    "convnet-sharded": ("convnet", "    shard_size: 2KiB\n"),  # weights straddle shard files
}


def write_config(project: Path, sources: dict[str, str], extra: dict[str, str]) -> Path:
    lines = ["version: 1", "defaults:", "  backends: [cpu, wasm]", "models:"]
    for name, source in sources.items():
        lines += [f"  {name}:", f"    source: {source}"]
        lines.append(extra.get(name, "").rstrip("\n")) if extra.get(name) else None
    path = project / "tfjs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def convert_into(model: ModelConfig, out_dir: Path) -> ConvertResult:
    from tfjs_build.convert import convert_model

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    return convert_model(model, model.source_path, out_dir, out_dir.parent / f"{out_dir.name}-work")
