"""Tiny Keras models (random weights) for the layers converter, built at test time.

Each builder returns a Keras 3 model; ``keras2_model`` returns a tf_keras (Keras 2) one.
Imports are inside the builders so collecting the tests never starts TensorFlow.
"""

from __future__ import annotations

from typing import Any, Callable


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


KERAS3_MODELS: dict[str, Callable[[], Any]] = {
    "cnn_functional": cnn_functional,
    "cnn_sequential": cnn_sequential,
    "recurrent": recurrent,
    "multi_io_nested": multi_io_nested,
}
