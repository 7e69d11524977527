"""Regenerate models/digits.keras, the tiny model the quick start builds.

A small convolutional classifier for 28x28 grey images with random (seeded) weights
and non-trivial batch-norm statistics: big enough to show sharding, quantization and
budgets, small enough (tens of kB) to commit.  Run: python make_model.py
"""

from pathlib import Path

import keras
import numpy as np


def make_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name="stem_relu6")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = keras.layers.Activation("relu", name="dw_relu")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu", name="pointwise")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(32, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit")(x)
    model = keras.Model(inputs, outputs, name="digits")
    rng = np.random.default_rng(7)
    bn = model.get_layer("stem_bn")
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([
        rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
        rng.normal(0, 0.1, beta.shape).astype("float32"),
        rng.normal(0, 0.1, mean.shape).astype("float32"),
        rng.uniform(0.5, 2.0, var.shape).astype("float32"),
    ])
    return model


if __name__ == "__main__":
    out = Path(__file__).parent / "models" / "digits.keras"
    make_model().save(out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
