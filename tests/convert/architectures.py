"""Architectures nobody on this project wrote, tiny and with random weights (no downloads), as SavedModels.

keras-hub's BERT, GPT-2 and Llama backbones (EinsumDense attention; Llama adds rotary embeddings,
RMSNorm, grouped-query attention and a causal mask) and Swin (shifted windows: Roll, and a mask
built with slice_update), Keras's own ConvNeXt (its grouped convolutions are XLA-compiled calls),
and an STFT spectrogram front end (RFFT + ComplexAbs). Each builder returns the model's folder,
the inputs TF.js gets and TensorFlow's outputs on them (from the original model).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TEXT = {"vocabulary_size": 100, "num_layers": 2, "hidden_dim": 32, "intermediate_dim": 64}
SEQUENCE = 8
Built = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def _randomize(net: Any, rng: np.random.Generator) -> None:
    """Random float weights everywhere (layer scales and norms too), so every block really computes."""
    for weight in net.weights:
        if "float" in str(weight.dtype):
            weight.assign(rng.normal(0.0, 0.2, weight.shape).astype(str(weight.dtype)))


def _export(net: Any, folder: Path, feed: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Save ``net`` as a SavedModel (``model.export``, its serving signature) and return its outputs on ``feed``."""
    _randomize(net, rng)
    net.export(str(folder), verbose=False)
    outputs = net(feed)
    named = outputs if isinstance(outputs, dict) else {"output_0": outputs}
    return {key: np.asarray(value) for key, value in named.items()}


def _tokens(rng: np.random.Generator, segments: bool) -> dict[str, np.ndarray]:
    mask = np.ones((2, SEQUENCE), np.int32)
    mask[1, 5:] = 0  # a padded sequence
    feed = {"token_ids": rng.integers(0, TEXT["vocabulary_size"], (2, SEQUENCE)).astype(np.int32), "padding_mask": mask}
    if segments:
        feed["segment_ids"] = (np.arange(SEQUENCE) >= 4).astype(np.int32)[None].repeat(2, axis=0)
    return feed


def build_bert(folder: Path, rng: np.random.Generator) -> Built:
    import keras_hub

    net = keras_hub.models.BertBackbone(num_heads=2, max_sequence_length=SEQUENCE, **TEXT)
    feed = _tokens(rng, segments=True)
    return feed, _export(net, folder, feed, rng)


def build_gpt2(folder: Path, rng: np.random.Generator) -> Built:
    import keras_hub

    net = keras_hub.models.GPT2Backbone(num_heads=2, max_sequence_length=SEQUENCE, **TEXT)
    feed = _tokens(rng, segments=False)
    return feed, _export(net, folder, feed, rng)


def build_llama(folder: Path, rng: np.random.Generator) -> Built:
    import keras_hub

    net = keras_hub.models.LlamaBackbone(num_query_heads=4, num_key_value_heads=2, **TEXT)
    feed = _tokens(rng, segments=False)
    return feed, _export(net, folder, feed, rng)


def build_swin(folder: Path, rng: np.random.Generator) -> Built:
    import keras_hub

    net = keras_hub.models.SwinTransformerBackbone(
        image_shape=(32, 32, 3), embed_dim=16, depths=[2], num_heads=[2], window_size=4, patch_size=4,  # block 2 shifts
    )
    images = rng.uniform(0.0, 1.0, (2, 32, 32, 3)).astype(np.float32)
    return {"inputs": images}, _export(net, folder, images, rng)


def build_convnext(folder: Path, rng: np.random.Generator) -> Built:
    """keras.applications' ConvNeXt (what ConvNeXtTiny calls) with one block per stage and few channels."""
    from keras.src.applications.convnext import ConvNeXt

    net = ConvNeXt(depths=[1, 1, 1, 1], projection_dims=[8, 16, 16, 16], weights=None, input_shape=(32, 32, 3),
                   classes=10, name="convnext_test")
    images = rng.uniform(0.0, 255.0, (2, 32, 32, 3)).astype(np.float32)
    return {"inputs": images}, _export(net, folder, images, rng)


def build_stft(folder: Path, rng: np.random.Generator) -> Built:
    """A log-mel spectrogram front end (tf.signal.stft, |.|, mel matrix) and a dense layer, as a tf.Module."""
    import tensorflow as tf

    class Frontend(tf.Module):
        def __init__(self) -> None:
            self.mel = tf.constant(tf.signal.linear_to_mel_weight_matrix(16, 33, 8000, 80.0, 3800.0))
            self.dense = tf.Variable(rng.normal(0.0, 0.3, (16, 4)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 800], tf.float32, name="audio")])
        def serve(self, audio: tf.Tensor) -> dict[str, tf.Tensor]:
            magnitude = tf.abs(tf.signal.stft(audio, frame_length=64, frame_step=32, fft_length=64))
            log_mel = tf.math.log(tf.matmul(magnitude, self.mel) + 1e-3)
            return {"features": tf.matmul(log_mel, self.dense)}

    frontend = Frontend()
    tf.saved_model.save(frontend, str(folder), signatures={"serving_default": frontend.serve})
    audio = rng.normal(0.0, 0.5, (2, 800)).astype(np.float32)
    return {"audio": audio}, {"features": frontend.serve(tf.constant(audio))["features"].numpy()}


BUILDERS: dict[str, Callable[[Path, np.random.Generator], Built]] = {
    "bert": build_bert, "gpt2": build_gpt2, "llama": build_llama, "convnext": build_convnext, "swin": build_swin,
    "stft": build_stft,
}
