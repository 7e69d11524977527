"""Tiny Keras models (random weights) for the layers converter, built at test time.

Each builder returns a Keras 3 model; ``keras2_model`` returns a tf_keras (Keras 2) one.
Imports are inside the builders so collecting the tests never starts TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def cnn_functional() -> Any:
    import keras
    from keras import layers

    inp = keras.Input((8, 8, 3), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.DepthwiseConv2D(3, activation="relu6", name="dw")(x)
    x = layers.SeparableConv2D(5, 3, activation="tanh", name="sep")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Dropout(0.3, name="drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(3, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="cnn_functional")


def cnn_sequential() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((9, 9, 2)),
        layers.ZeroPadding2D(1),
        layers.Conv2D(3, 3, strides=2, activation="elu"),
        layers.BatchNormalization(),
        layers.AveragePooling2D(2, padding="same"),
        layers.UpSampling2D(2),
        layers.LeakyReLU(0.1),
        layers.Conv2DTranspose(2, 3, activation="sigmoid"),
        layers.SeparableConv2D(3, 2, depth_multiplier=2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(4, activation="gelu"),
    ], name="cnn_sequential")


def recurrent() -> Any:
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((7,), dtype="int32"),
        layers.Embedding(12, 4),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
        layers.GRU(4, reset_after=False, return_sequences=True),
        layers.SimpleRNN(3, return_sequences=True),
        layers.TimeDistributed(layers.Dense(2, activation="silu")),
        layers.GlobalMaxPooling1D(),
        layers.Dense(2),
    ], name="recurrent")


def masked() -> Any:
    """Embedding(mask_zero=True): token 0 is padding that the recurrent layers skip."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((9,), dtype="int32", name="tokens"),
        layers.Embedding(10, 4, mask_zero=True),
        layers.LSTM(3, return_sequences=True),
        layers.GRU(2, reset_after=False),
        layers.Dense(2),
    ], name="masked")


def multi_io_nested() -> Any:
    """Two inputs, two outputs, a layer shared by both inputs, nested functional and sequential models."""
    import keras
    from keras import layers

    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    shared = layers.Dense(5, activation="selu", name="shared")
    inner_in = keras.Input((5,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(4, activation="softplus", name="inner_dense")(inner_in), name="inner")
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(4, name="seq_dense"), layers.LayerNormalization(name="ln")],
                           name="seq")
    ha, hb = shared(a), shared(b)
    joined = layers.Concatenate(name="cat")([inner(ha), inner(hb)])
    summed = layers.Add(name="add")([seq(inner(ha)), layers.Dense(4, name="skip")(hb)])
    probs = layers.Dense(3, activation="softmax", name="probs")(joined)
    soft = layers.Activation("mish", name="soft")(summed)
    return keras.Model([a, b], [probs, soft], name="multi_io_nested")


def zoo_dense() -> Any:
    """Every supported activation, the merge layers, noise layers, reshaping, regularizers, constraints."""
    import keras
    from keras import layers

    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    activations = ("linear", "relu", "relu6", "elu", "selu", "sigmoid", "softplus", "softsign", "tanh",
                   "softmax", "log_softmax", "mish", "gelu", "silu")
    dense = layers.Concatenate(name="acts")([layers.Dense(3, activation=act, name=f"d_{act}")(a) for act in activations])
    y, z = layers.Dense(4, name="y")(b), layers.Dense(4, name="z")(a)
    merged = [layers.Multiply()([y, z]), layers.Average()([y, z]), layers.Maximum()([y, z]),
              layers.Minimum()([y, z]), layers.Dot(axes=1, normalize=True)([y, z])]
    w = layers.Rescaling(0.5, offset=0.1)(layers.Concatenate()([dense, *merged]))
    w = layers.AlphaDropout(0.2)(layers.GaussianDropout(0.2)(layers.GaussianNoise(0.3)(w)))
    w = layers.Softmax(name="sm")(layers.ELU()(layers.LayerNormalization()(w)))
    r = layers.Reshape((12,))(layers.Permute((2, 1))(layers.RepeatVector(3)(y)))
    r = layers.Dense(2, kernel_regularizer="l2", kernel_constraint=keras.constraints.MaxNorm(2.0), name="reg")(r)
    return keras.Model([a, b], [w, r], name="zoo_dense")


def zoo_conv() -> Any:
    """1D, 3D and 2D convolution and pooling variants side by side."""
    import keras
    from keras import layers

    seq = keras.Input((10, 3), name="seq")
    s = layers.Conv1D(4, 3, padding="same", dilation_rate=2)(seq)
    s = layers.GlobalAveragePooling1D()(layers.AveragePooling1D(2)(layers.SpatialDropout1D(0.2)(s)))
    vol = keras.Input((6, 6, 6, 2), name="vol")
    t = layers.MaxPooling3D(2)(layers.Conv3D(3, 2, activation="relu")(vol))
    t = layers.Flatten()(layers.AveragePooling3D(2)(layers.Conv3D(2, 1, padding="same")(t)))
    img = keras.Input((8, 8, 3), name="img")
    q = layers.UpSampling2D(2)(layers.Cropping2D(((1, 0), (0, 1)))(img))
    q = layers.Conv2D(3, 3, strides=2, use_bias=False)(q)
    q = layers.GlobalMaxPooling2D()(layers.PReLU(shared_axes=[1, 2])(q))
    return keras.Model([seq, vol, img], layers.Dense(3, name="head")(layers.Concatenate()([s, t, q])), name="zoo_conv")


def normalized() -> Any:
    """Keras Normalization (rewritten as Rescaling layers): adapted (stored weights), values in the
    config (per channel and scalar), and inverted."""
    import keras
    from keras import layers

    inp = keras.Input((5, 4), name="x")
    adapted = layers.Normalization(name="adapted")
    adapted.adapt(np.random.default_rng(3).normal(2.0, 3.0, (16, 5, 4)).astype(np.float32))
    a = adapted(inp)
    b = layers.Normalization(mean=[0.5, -1.0, 2.0, 0.0], variance=[0.25, 4.0, 0.01, 1.0], name="listed")(inp)
    c = layers.Normalization(mean=1.5, variance=2.0, name="scalar")(inp)
    d = layers.Normalization(mean=[0.1, 0.2, 0.3, 0.4], variance=[1, 2, 3, 1e-16], invert=True, name="inverted")(inp)
    out = layers.Dense(3, name="head")(layers.Concatenate(name="cat")([a, b, c, d]))
    return keras.Model(inp, out, name="normalized")


def hard_activations() -> Any:
    """hard_silu/hard_swish and Keras 3's hard_sigmoid as Activation layers and as a layer's own activation
    (on a shared layer too), and pooling with keepdims: each rewritten into layers tfjs-layers has."""
    import keras
    from keras import layers

    seq = keras.Input((6, 3), name="seq")
    shared = layers.Dense(4, activation="hard_silu", name="shared")
    x = layers.Conv1D(4, 3, padding="same", activation="hard_swish", name="conv")(seq)
    pooled = layers.GlobalAveragePooling1D(keepdims=True, name="pool")(x)
    gate = layers.Activation("hard_sigmoid", name="gate")(layers.Dense(4, name="gate_in")(pooled))
    y = layers.Multiply(name="gated")([shared(x), gate])
    z = layers.Activation("hard_silu", name="act")(shared(layers.Dense(4, name="mix")(x)))
    out = layers.Dense(2, name="out")(layers.Flatten(name="flat")(layers.Add(name="sum")([y, z])))
    return keras.Model(seq, [out, layers.GlobalMaxPooling1D(name="peak")(z)], name="hard_activations")


def hard_sequential() -> Any:
    """A Sequential model with hard_silu: it becomes a functional model (a Multiply has two inputs)."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((4, 4, 2)),
        layers.Conv2D(3, 2, activation="hard_silu", name="conv"),
        layers.GlobalAveragePooling2D(name="pool"),
        layers.Activation("hard_sigmoid", name="gate"),
        layers.Dense(2, name="out"),
    ], name="hard_sequential")


def application(name: str) -> Any:
    """A keras.applications architecture at 32x32 with 5 logits: Keras' random initial weights, and random
    normalization statistics (their initial ones, 0 and 1, would hide a mix-up of mean and variance).
    Early feature maps are outputs too: with random weights the logits barely depend on the input."""
    import keras

    build, taps = {
        "MobileNetV3Small": (keras.applications.MobileNetV3Small, ("hard_silu", "expanded_conv_squeeze_excite_mul")),
        "EfficientNetB0": (keras.applications.EfficientNetB0, ("Normalization", "block2a_se_excite")),
    }[name]
    model = build(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None)
    rng = np.random.default_rng(5)
    ranges = {"gamma": (0.5, 1.5), "beta": (-0.1, 0.1), "moving_mean": (-0.1, 0.1), "moving_variance": (0.5, 1.5),
              "mean": (0.3, 0.6), "variance": (0.04, 0.08)}
    for weight in model.weights:
        low_high = ranges.get(weight.path.rpartition("/")[2])
        if low_high is not None:
            weight.assign(rng.uniform(*low_high, tuple(weight.shape)).astype(np.float32))
    for layer in model.layers:
        if type(layer).__name__ == "Normalization":
            layer.finalize_state()
    return keras.Model(model.inputs, [*(_tap(model, tap) for tap in taps), model.outputs[0]], name=model.name)


def _tap(model: Any, tap: str) -> Any:
    """The output of the first layer named ``tap``, of class ``tap`` or with the activation function ``tap``."""
    for layer in model.layers:
        if tap in (layer.name, type(layer).__name__, getattr(getattr(layer, "activation", None), "__name__", None)):
            return layer.output
    raise LookupError(tap)


def conv3d_transpose() -> Any:
    """Computed wrongly by TF.js 4.22's wasm backend (so only convertible for cpu/webgl)."""
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((3, 3, 3, 2), name="vol"), layers.Conv3DTranspose(2, 2, strides=2, name="up")],
                            name="conv3d_transpose")


def keras2_model() -> Any:
    """A tf_keras (Keras 2) model: functional, with a nested model, recurrent layers and BN."""
    import tf_keras
    from tf_keras import layers

    inp = layers.Input((6,), dtype="int32", name="tokens")
    x = layers.Embedding(12, 4)(inp)
    x = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(x)
    x = layers.GRU(3, reset_after=False)(x)
    inner_in = layers.Input((3,))
    inner = tf_keras.Model(inner_in, layers.Dense(4, activation="hard_sigmoid")(inner_in), name="inner")
    x = layers.BatchNormalization()(inner(x))
    out = layers.Dense(2, name="out")(x)
    return tf_keras.Model(inp, out, name="keras2")


def keras2_sequential() -> Any:
    """A tf_keras Sequential CNN + RNN stack (Keras 2 writes options Keras 3 dropped, e.g. groups)."""
    import tf_keras
    from tf_keras import layers

    return tf_keras.Sequential([
        layers.Input((8, 8, 2)),
        layers.Conv2D(3, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.SeparableConv2D(4, 2, padding="same"),
        layers.DepthwiseConv2D(2),
        layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Reshape((-1, 4)),
        layers.TimeDistributed(layers.Dense(3)),
        layers.Bidirectional(layers.GRU(2, reset_after=False, return_sequences=True), merge_mode="sum"),
        layers.SimpleRNN(3),
        layers.LeakyReLU(0.2),
        layers.Dense(2, activation="softmax"),
    ], name="keras2_sequential")


def keras2_normalized() -> Any:
    """tf_keras Normalization: adapted (weights in the .h5 file) and with per-channel values in its config."""
    import tf_keras
    from tf_keras import layers

    adapted = layers.Normalization(name="adapted")
    adapted.adapt(np.random.default_rng(4).normal(-1.0, 2.0, (16, 3)).astype(np.float32))
    inp = layers.Input((3,), name="x")
    x = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.5, 2.0], invert=True, name="listed")(adapted(inp))
    return tf_keras.Model(inp, layers.Dense(2, name="out")(x), name="keras2_normalized")


KERAS2_MODELS: dict[str, Callable[[], Any]] = {"keras2": keras2_model, "keras2_sequential": keras2_sequential,
                                               "keras2_normalized": keras2_normalized}
KERAS3_MODELS: dict[str, Callable[[], Any]] = {
    "cnn_functional": cnn_functional,
    "cnn_sequential": cnn_sequential,
    "recurrent": recurrent,
    "masked": masked,
    "multi_io_nested": multi_io_nested,
    "zoo_dense": zoo_dense,
    "zoo_conv": zoo_conv,
    "normalized": normalized,
    "hard_activations": hard_activations,
    "hard_sequential": hard_sequential,
}
