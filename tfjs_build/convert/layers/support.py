"""What tfjs-layers 4.22 can deserialize and run, as data (no tensorflow import).

Learnt from the tfjs-layers sources (tensorflow/tfjs, tag tfjs-v4.22.0, tfjs-layers/src):
the classes passed to ``serialization.registerClass`` and the ``*LayerArgs`` each reads.
tfjs-layers ignores config keys it does not know, so a Keras option it lacks would be
dropped silently and the model would compute something else. Hence each class lists:

- ``keys``: the Keras-2 config keys tfjs-layers reads (passed through);
- ``fixed``: keys tfjs-layers lacks, accepted only at the values where dropping them
  changes nothing (e.g. Conv2D ``groups: 1``, GRU ``reset_after: false``);
- ``ignored``: keys that never change what tfjs computes (seeds, cuDNN/unroll hints);
- ``renames``: Keras 3 key -> Keras 2 key (LeakyReLU ``negative_slope`` -> ``alpha``);
- ``allowed``: keys passed through but only with these values, where tfjs-layers throws
  NotImplementedError for others (Conv1D ``padding: causal``, ELU ``alpha`` other than 1)
  or computes them differently (``why``: UpSampling2D's bilinear);
- ``broken_on``: TF.js backends that load the layer but compute it wrongly (measured with
  tests/layers against Keras: Conv3DTranspose on wasm is off by O(1)).

Any other key is an unsupported option. ``tests/layers`` checks the class list against
the registry of the installed @tensorflow/tfjs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TFJS_VERSION = "4.22.0"
GRAPH_HINT = "use format: graph (tf.loadGraphModel), which runs any TF op TF.js supports"

# Keys every layer accepts (tfjs LayerArgs), besides ``name``.
BASE_KEYS = frozenset({"name", "trainable", "dtype", "batch_input_shape", "batch_size"})
# tfjs-layers throws NotImplementedError when a layer with an activity regularizer is called.
COMMON_FIXED: dict[str, tuple[Any, ...]] = {"activity_regularizer": (None,)}
# Keras config keys carried by every serialized object, never part of the layer's options.
ENVELOPE_KEYS = frozenset({"module", "registered_name", "build_config", "compile_config", "shared_object_id"})


@dataclass(frozen=True)
class LayerRule:
    keys: frozenset[str]
    fixed: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()
    renames: Mapping[str, str] = field(default_factory=dict)
    weights: Mapping[str, str] = field(default_factory=dict)  # Keras variable name -> tfjs name
    allowed: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)  # allowed key -> why other values are refused
    broken_on: frozenset[str] = frozenset()


BILINEAR_WHY = ("tfjs-layers' bilinear UpSampling2D resizes without half-pixel centers (tf.image.resizeBilinear "
                "with halfPixelCenters false), Keras 2 and 3 with them, so the upsampled values differ")


def _keys(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


CONV = (
    "kernel_size strides padding data_format dilation_rate activation use_bias kernel_initializer "
    "bias_initializer kernel_constraint bias_constraint kernel_regularizer bias_regularizer"
)
SEPARABLE = (
    "depth_multiplier depthwise_initializer pointwise_initializer depthwise_regularizer "
    "pointwise_regularizer depthwise_constraint pointwise_constraint"
)
RNN_BASE = "return_sequences return_state go_backwards stateful"
RNN_CELL = (
    "units activation use_bias kernel_initializer recurrent_initializer bias_initializer "
    "kernel_regularizer recurrent_regularizer bias_regularizer kernel_constraint "
    "recurrent_constraint bias_constraint dropout recurrent_dropout"
)
RNN_IGNORED = _keys("seed unroll implementation use_cudnn zero_output_for_mask")
RNN_FIXED = {"time_major": (False,)}
KERNEL_OPTIONS = _keys("kernel_initializer kernel_regularizer kernel_constraint")
POOL_2D = "pool_size strides padding data_format"
QUANTIZED = {"lora_rank": (None,), "lora_alpha": (None,), "quantization_config": (None,)}


def _conv(fixed: Mapping[str, tuple[Any, ...]] | None = None) -> LayerRule:
    return LayerRule(_keys("filters", CONV), {"groups": (1,), **(fixed or {})})


LAYERS: dict[str, LayerRule] = {
    "InputLayer": LayerRule(_keys("sparse"), {"ragged": (False,), "optional": (False,)}),
    # core
    "Dense": LayerRule(
        _keys("units activation use_bias kernel_initializer bias_initializer kernel_constraint "
              "bias_constraint kernel_regularizer bias_regularizer input_dim"),
        QUANTIZED,
    ),
    "Activation": LayerRule(_keys("activation")),
    "Dropout": LayerRule(_keys("rate noise_shape seed")),
    "SpatialDropout1D": LayerRule(_keys("rate seed"), {"noise_shape": (None,)}),
    "Flatten": LayerRule(_keys("data_format")),
    "Reshape": LayerRule(_keys("target_shape")),
    "Permute": LayerRule(_keys("dims")),
    "RepeatVector": LayerRule(_keys("n")),
    "Masking": LayerRule(_keys("mask_value")),
    # convolutions
    "Conv1D": LayerRule(_keys("filters", CONV), {"groups": (1,)}, allowed={"padding": ("valid", "same")}),
    "Conv2D": _conv(),
    "Conv3D": _conv(),
    "Conv2DTranspose": _conv({"output_padding": (None,)}),
    "Conv3DTranspose": LayerRule(_keys("filters", CONV), {"groups": (1,), "output_padding": (None,)},
                                 broken_on=frozenset({"wasm"})),
    # Keras 2 writes the unused kernel_* options too; tfjs-layers refuses them for SeparableConv2D
    "SeparableConv2D": LayerRule(_keys("filters", CONV, SEPARABLE) - KERNEL_OPTIONS, {"groups": (1,)},
                                 ignored=KERNEL_OPTIONS),
    "DepthwiseConv2D": LayerRule(
        _keys(CONV, "depth_multiplier depthwise_initializer depthwise_constraint depthwise_regularizer"),
        {"groups": (1,)},
        weights={"kernel": "depthwise_kernel"},
    ),
    "Cropping2D": LayerRule(_keys("cropping data_format")),
    # For integer factors, nearest neighbours are the same with or without half-pixel centers
    "UpSampling2D": LayerRule(_keys("size data_format interpolation"), allowed={"interpolation": ("nearest",)},
                              why={"interpolation": BILINEAR_WHY}),
    "ZeroPadding2D": LayerRule(_keys("padding data_format")),
    # pooling
    "MaxPooling1D": LayerRule(_keys("pool_size strides padding"), {"data_format": ("channels_last",)}),
    "AveragePooling1D": LayerRule(_keys("pool_size strides padding"), {"data_format": ("channels_last",)}),
    "MaxPooling2D": LayerRule(_keys(POOL_2D)),
    "AveragePooling2D": LayerRule(_keys(POOL_2D)),
    "MaxPooling3D": LayerRule(_keys(POOL_2D)),
    "AveragePooling3D": LayerRule(_keys(POOL_2D)),
    "GlobalAveragePooling1D": LayerRule(frozenset(), {"keepdims": (False,), "data_format": ("channels_last",)}),
    "GlobalMaxPooling1D": LayerRule(frozenset(), {"keepdims": (False,), "data_format": ("channels_last",)}),
    "GlobalAveragePooling2D": LayerRule(_keys("data_format"), {"keepdims": (False,)}),
    "GlobalMaxPooling2D": LayerRule(_keys("data_format"), {"keepdims": (False,)}),
    # normalization
    "BatchNormalization": LayerRule(
        _keys("axis momentum epsilon center scale beta_initializer gamma_initializer "
              "moving_mean_initializer moving_variance_initializer beta_constraint gamma_constraint "
              "beta_regularizer gamma_regularizer"),
        {"synchronized": (False,), "renorm": (False,), "renorm_clipping": (None,),
         "virtual_batch_size": (None,), "adjustment": (None,)},
        ignored=_keys("renorm_momentum fused"),
    ),
    "LayerNormalization": LayerRule(
        _keys("axis epsilon center scale beta_initializer gamma_initializer beta_regularizer gamma_regularizer"),
        {"rms_scaling": (False,), "beta_constraint": (None,), "gamma_constraint": (None,)},
    ),
    # embeddings and recurrent
    "Embedding": LayerRule(
        _keys("input_dim output_dim embeddings_initializer embeddings_regularizer embeddings_constraint "
              "mask_zero input_length"),
        {**QUANTIZED, "sparse": (False,)},
    ),
    "SimpleRNN": LayerRule(_keys(RNN_BASE, RNN_CELL), RNN_FIXED, RNN_IGNORED),
    "LSTM": LayerRule(_keys(RNN_BASE, RNN_CELL, "recurrent_activation unit_forget_bias"), RNN_FIXED, RNN_IGNORED),
    "GRU": LayerRule(_keys(RNN_BASE, RNN_CELL, "recurrent_activation"), {**RNN_FIXED, "reset_after": (False,)},
                     RNN_IGNORED),
    "Bidirectional": LayerRule(_keys("layer merge_mode"), ignored=_keys("backward_layer")),
    "TimeDistributed": LayerRule(_keys("layer")),
    # merging
    "Add": LayerRule(frozenset()),
    "Multiply": LayerRule(frozenset()),
    "Average": LayerRule(frozenset()),
    "Maximum": LayerRule(frozenset()),
    "Minimum": LayerRule(frozenset()),
    "Concatenate": LayerRule(_keys("axis")),
    "Dot": LayerRule(_keys("axes normalize")),
    # activations as layers
    "ReLU": LayerRule(_keys("max_value"), {"negative_slope": (0, 0.0), "threshold": (0, 0.0)}),
    "LeakyReLU": LayerRule(_keys("alpha"), renames={"negative_slope": "alpha"}),
    "ELU": LayerRule(_keys("alpha"), allowed={"alpha": (1, 1.0)}),
    "PReLU": LayerRule(_keys("alpha_initializer alpha_regularizer alpha_constraint shared_axes")),
    "ThresholdedReLU": LayerRule(_keys("theta")),
    "Softmax": LayerRule(_keys("axis")),
    # noise (identity at inference)
    "GaussianNoise": LayerRule(_keys("stddev"), ignored=_keys("seed")),
    "GaussianDropout": LayerRule(_keys("rate"), ignored=_keys("seed")),
    "AlphaDropout": LayerRule(_keys("rate noise_shape"), ignored=_keys("seed")),
    # preprocessing
    "Rescaling": LayerRule(_keys("scale offset")),
}

# Backends whose batchNorm kernel pairs x[i] with the statistics at i modulo their length, whatever their
# shape: right only along the last axis (measured with tests/convert/layers: axis 1 of a rank-3 input is off by O(1)).
BATCH_NORM_LAST_AXIS_ONLY = ("cpu", "wasm")

# Weights tfjs-layers creates non-trainable (BatchNormalization's statistics).
NON_TRAINABLE_WEIGHTS = frozenset({"moving_mean", "moving_variance"})

MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
RNN_CLASSES = frozenset({"SimpleRNN", "LSTM", "GRU"})

# Keras activation name -> the name tfjs-layers registers (before its camelCase pass).
# Keras 3's hard_sigmoid is relu6(x + 3) / 6; tfjs's (like Keras 2's) is clip(0.2x + 0.5).
ACTIVATIONS: dict[str, str] = {
    name: name
    for name in ("linear", "relu", "relu6", "elu", "selu", "sigmoid", "softplus", "softsign",
                 "tanh", "softmax", "log_softmax", "mish", "gelu", "swish")
}
ACTIVATIONS["silu"] = "swish"
KERAS2_ONLY_ACTIVATIONS = {"hard_sigmoid": "hard_sigmoid"}

INITIALIZERS: dict[str, tuple[str, frozenset[str]]] = {
    # Keras class name -> (tfjs class name, config keys tfjs reads)
    "Zeros": ("Zeros", frozenset()),
    "Ones": ("Ones", frozenset()),
    "Constant": ("Constant", _keys("value")),
    "RandomUniform": ("RandomUniform", _keys("minval maxval seed")),
    "RandomNormal": ("RandomNormal", _keys("mean stddev seed")),
    "TruncatedNormal": ("TruncatedNormal", _keys("mean stddev seed")),
    "VarianceScaling": ("VarianceScaling", _keys("scale mode distribution seed")),
    "Orthogonal": ("Orthogonal", _keys("gain seed")),
    "OrthogonalInitializer": ("Orthogonal", _keys("gain seed")),
    "Identity": ("Identity", _keys("gain")),
    "IdentityInitializer": ("Identity", _keys("gain")),
    "GlorotUniform": ("GlorotUniform", _keys("seed")),
    "GlorotNormal": ("GlorotNormal", _keys("seed")),
    "HeUniform": ("HeUniform", _keys("seed")),
    "HeNormal": ("HeNormal", _keys("seed")),
    "LecunUniform": ("LeCunUniform", _keys("seed")),
    "LecunNormal": ("LeCunNormal", _keys("seed")),
    "LeCunUniform": ("LeCunUniform", _keys("seed")),
    "LeCunNormal": ("LeCunNormal", _keys("seed")),
}
# String identifiers Keras may write instead of an object.
INITIALIZER_NAMES = {
    "zeros": "Zeros", "ones": "Ones", "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal", "lecun_uniform": "LecunUniform",
    "lecun_normal": "LecunNormal", "orthogonal": "Orthogonal", "random_uniform": "RandomUniform",
    "random_normal": "RandomNormal", "truncated_normal": "TruncatedNormal", "identity": "Identity",
    "variance_scaling": "VarianceScaling",
}
CONSTRAINTS: dict[str, frozenset[str]] = {
    "MaxNorm": _keys("max_value axis"),
    "MinMaxNorm": _keys("min_value max_value rate axis"),
    "NonNeg": frozenset(),
    "UnitNorm": _keys("axis"),
}
CONSTRAINT_NAMES = {"max_norm": "MaxNorm", "min_max_norm": "MinMaxNorm", "non_neg": "NonNeg", "unit_norm": "UnitNorm"}
# Keras regularizers -> tfjs L1L2 (its only regularizer class): which keys feed l1 and l2.
REGULARIZERS: dict[str, tuple[str, ...]] = {"L1L2": ("l1", "l2"), "L1": ("l1",), "L2": ("l2",)}
REGULARIZER_NAMES = {"l1": "L1", "l2": "L2", "l1_l2": "L1L2"}

# Keys of object-valued options, by kind.
INITIALIZER_KEYS = frozenset(
    {"kernel_initializer", "bias_initializer", "recurrent_initializer", "depthwise_initializer",
     "pointwise_initializer", "beta_initializer", "gamma_initializer", "moving_mean_initializer",
     "moving_variance_initializer", "embeddings_initializer", "alpha_initializer"}
)
ACTIVATION_KEYS = frozenset({"activation", "recurrent_activation"})
# Dtypes tfjs tensors have; Keras dtypes that map onto them.
DTYPES = {"float32": "float32", "int32": "int32", "bool": "bool", "int64": "int32", "string": "string"}
