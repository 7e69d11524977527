"""Session-built tiny graphs for the optimisation tests (TensorFlow imported lazily, built once)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LEAKY_ALPHA = 0.3


def build_convnet() -> Any:
    """Every conv flavour followed by a BN and each activation, then a GELU dense head."""
    import keras

    layers = keras.layers
    image = keras.Input((6, 6, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv_relu")(image)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="pad_dw")(x)  # MobileNet's stride-2 padding
    x = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, use_bias=False, name="dw")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.Activation("relu6", name="relu6")(x)
    x = layers.ZeroPadding2D(1, name="pad_conv")(x)
    x = layers.Conv2D(4, 1, use_bias=False, name="conv_sigmoid")(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.Activation("sigmoid", name="sigmoid")(x)
    x = layers.Conv2D(4, 1, name="conv_elu", activation="elu")(x)
    x = layers.Conv2D(4, 1, name="conv_leaky")(x)
    x = layers.LeakyReLU(negative_slope=LEAKY_ALPHA, name="leaky")(x)
    x = layers.Conv2D(4, 1, use_bias=False, name="conv_nobias", activation="relu")(x)
    shortcut = layers.Conv2D(4, 1, use_bias=False, name="conv_res")(x)
    x = layers.Add(name="residual")([x, layers.BatchNormalization(name="bn_res")(shortcut)])
    x = layers.Conv2D(4, 1, name="conv_prelu")(x)
    x = layers.PReLU(name="prelu_conv")(x)  # alpha per position: left unfused (webgl gets it wrong)
    x = layers.Conv2D(4, 1, name="conv_prelu_shared")(x)
    x = layers.PReLU(shared_axes=[1, 2], name="prelu_shared")(x)  # alpha per channel
    x = layers.Conv2D(4, 1, name="conv_tanh", activation="tanh")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(6, activation="gelu", name="dense_gelu")(x)
    x = layers.PReLU(name="prelu_dense")(layers.Dense(5, name="dense_prelu")(x))
    out = layers.Dense(3, name="logits")(x)
    return keras.Model(image, out)


def build_conv1d() -> Any:
    """Keras Conv1D (ExpandDims -> Conv2D -> Squeeze) with a batch norm, and a causal one."""
    import keras

    layers = keras.layers
    signal = keras.Input((10, 4), name="signal")
    x = layers.Conv1D(6, 3, padding="same", name="conv1d_bn")(signal)
    x = layers.ReLU(name="relu")(layers.BatchNormalization(name="bn")(x))
    x = layers.Conv1D(5, 3, padding="causal", activation="relu", name="conv1d_causal")(x)
    return keras.Model(signal, x)


@pytest.fixture(scope="session")
def convnet() -> tuple[Any, Any]:
    """(Keras model with random weights and BN statistics, frozen + Grappler-optimised graph)."""
    import tensorflow as tf

    from .graphs import freeze, randomize

    model = build_convnet()
    randomize(model, seed=0)
    frozen = freeze(lambda t: model(t, training=False), [tf.TensorSpec([None, 6, 6, 3], tf.float32)])
    return model, frozen


@pytest.fixture(scope="session")
def image_batch() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
