"""Config translation on hand-written Keras 3 / Keras 2 configs (no TensorFlow: fast)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tfjs_build.convert.layers.translate import Context, translate_model
from tfjs_build.errors import UnsupportedModelError

WHERE = "tfjs.yaml:3:13: models.net.source"
K3 = Context(WHERE, keras3=True)
K2 = Context(WHERE, keras3=False)
POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def obj(cls: str, **config: Any) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": cls, "config": config, "registered_name": None}


def tensor(layer: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "dtype": "float32",
                                                          "keras_history": [layer, node, index]}}


def entry(layer: dict[str, Any], *calls: Any) -> dict[str, Any]:
    return {**layer, "name": layer["config"]["name"], "inbound_nodes": list(calls)}


def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


def input_layer(name: str) -> dict[str, Any]:
    return obj("InputLayer", batch_shape=[None, 3], dtype="float32", sparse=False, ragged=False, name=name,
               optional=False)


def functional(*layers: dict[str, Any], inputs: Any = ("x", 0, 0), outputs: Any = ("y", 0, 0),
               name: str = "net") -> dict[str, Any]:
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": list(layers), "input_layers": list(inputs),
                       "output_layers": list(outputs)}}


def dense(name: str, **extra: Any) -> dict[str, Any]:
    return obj("Dense", name=name, trainable=True, dtype=POLICY, units=2, activation="silu", use_bias=True,
               kernel_initializer={"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": 3, "input_axes": None}, "registered_name": None},
               bias_initializer="zeros", kernel_regularizer={"module": "keras.regularizers", "class_name": "L2",
                                                              "config": {"l2": 0.5}, "registered_name": None},
               bias_regularizer=None, kernel_constraint=None, bias_constraint=None, quantization_config=None,
               **extra)


def error_of(model: dict[str, Any], ctx: Context = K3) -> str:
    with pytest.raises(UnsupportedModelError) as caught:
        translate_model(model, ctx)
    return str(caught.value)


def test_keras3_layers_become_keras2_style() -> None:
    model = functional(entry(input_layer("x")), entry(dense("y"), call(tensor("x"), mask=None)))
    config = translate_model(model, K3)["config"]
    x, y = config["layers"]
    assert x == {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
                 "config": {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "x"}}
    assert y["config"] == {
        "name": "y", "trainable": True, "dtype": "float32", "units": 2, "activation": "swish", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": 3}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}},
        "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }
    assert y["inbound_nodes"] == [[["x", 0, 0, {}]]]
    assert config["input_layers"] == [["x", 0, 0]] and config["output_layers"] == [["y", 0, 0]]


def test_merge_call_lists_every_input_tensor() -> None:
    model = functional(entry(input_layer("x")), entry(dense("d")),
                       entry(obj("Concatenate", name="y", axis=-1), call([tensor("x"), tensor("d", 1)])))
    assert translate_model(model, K3)["config"]["layers"][2]["inbound_nodes"] == [[["x", 0, 0, {}], ["d", 1, 0, {}]]]


def test_calls_of_nested_models_count_from_one_for_keras3_only() -> None:
    inner = functional(entry(input_layer("i")), entry(dense("o"), call(tensor("i"))), inputs=("i", 0, 0),
                       outputs=("o", 0, 0), name="inner")
    outer = functional(entry(input_layer("x")), entry(inner, call(tensor("x")), call(tensor("inner"))),
                       entry(dense("y"), call(tensor("inner", 1))))
    layers = translate_model(outer, K3)["config"]["layers"]
    assert layers[1]["inbound_nodes"] == [[["x", 0, 0, {}]], [["inner", 1, 0, {}]]]
    assert layers[2]["inbound_nodes"] == [[["inner", 2, 0, {}]]]
    assert translate_model(outer, K2)["config"]["layers"][2]["inbound_nodes"] == [[["inner", 1, 0, {}]]]


def test_bidirectional_inner_name_loses_keras3_forward_prefix() -> None:
    lstm = obj("LSTM", name="forward_lstm", units=2, go_backwards=False, seed=None, unroll=False)
    backward = obj("LSTM", name="backward_lstm", units=2, go_backwards=True)
    bi = obj("Bidirectional", name="y", merge_mode="concat", layer=lstm, backward_layer=backward)
    config = translate_model(functional(entry(input_layer("x")), entry(bi, call(tensor("x")))), K3)["config"]
    assert config["layers"][1]["config"] == {"name": "y", "merge_mode": "concat", "layer": {
        "class_name": "LSTM", "config": {"name": "lstm", "units": 2, "go_backwards": False}}}


def test_sequential_without_input_layer_gets_one_from_build_config() -> None:
    seq = {"class_name": "Sequential", "build_config": {"input_shape": [None, 4]},
           "config": {"name": "s", "layers": [dense("d")]}}
    layers = translate_model(seq, K3)["config"]["layers"]
    assert layers[0] == {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "s_input"}}
    del seq["build_config"]
    assert "'s' (Sequential): the model was never built" in error_of(seq)


@pytest.mark.parametrize(("layer", "expected"), [
    (dense("y", lora_rank=4), "layer 'y' (Dense): option lora_rank=4 is not supported"),
    (dense("y", fancy=True), "layer 'y' (Dense): option fancy=true is not supported (tfjs-layers 4.22.0 has no"),
    (obj("Bidirectional", name="y", layer=dense("d")), "layer 'y' (Bidirectional): wraps a Dense"),
    (obj("Dense", name="y", units=2, activation={"module": "my.acts", "class_name": "function",
                                                 "config": "wiggle", "registered_name": "function"}),
     "layer 'y' (Dense): option activation: custom activation 'wiggle'"),
    (obj("Dense", name="y", units=2, kernel_regularizer={"class_name": "OrthogonalRegularizer", "config": {}}),
     "layer 'y' (Dense): option kernel_regularizer: regularizer 'OrthogonalRegularizer'"),
    (obj("Bidirectional", name="y", layer=obj("GRU", name="g", units=2, reset_after=False),
         backward_layer=obj("GRU", name="h", units=3, reset_after=False, go_backwards=True)),
     "layer 'y' (Bidirectional): its backward_layer differs from its forward layer"),
    (dense("y", activity_regularizer={"class_name": "L2", "config": {"l2": 0.1}}),
     "layer 'y' (Dense): option activity_regularizer="),
    (obj("Dense", name="_y", units=2), "layer '_y' (Dense): the name '_y' is not a valid TF.js tensor name"),
    (obj("MultiHeadAttention", name="y"), "layer 'y' (MultiHeadAttention): tfjs-layers has no MultiHeadAttention"),
])
def test_unsupported_options_name_layer_class_and_option(layer: dict[str, Any], expected: str) -> None:
    message = error_of(functional(entry(input_layer("x")), entry(layer, call(tensor("x")))))
    assert message.startswith(f"{WHERE}: {expected}"), message
    assert "Fix: " in message


def test_tensor_keyword_arguments_are_refused() -> None:
    layer = entry(obj("LSTM", name="y", units=2), call(tensor("x"), initial_state=[tensor("x")]))
    assert "layer 'y' (LSTM): is called with initial_state=a tensor" in error_of(
        functional(entry(input_layer("x")), layer))


def test_subclassed_top_level_model_is_refused() -> None:
    model = {"module": "my_models", "class_name": "MyNet", "config": {"name": "mine"}, "registered_name": "MyNet"}
    assert "layer 'mine' (MyNet): only Sequential and functional models" in error_of(model)


# ---------------------------------------------------------------- rewrites of layers tfjs-layers lacks


def changed(layer: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {**layer, "config": {**layer["config"], **config}}


def layers_of(model: dict[str, Any], ctx: Context | None = None) -> dict[str, dict[str, Any]]:
    translated = translate_model(model, ctx or Context(WHERE, keras3=True))
    return {layer["name"]: layer for layer in translated["config"]["layers"]}


def test_hard_silu_activation_layer_becomes_rescaling_relu6_multiply_under_its_name() -> None:
    act = obj("Activation", name="act", activation="hard_silu")
    layers = layers_of(functional(entry(input_layer("x")), entry(act, call(tensor("x"))), outputs=("act", 0, 0)))
    assert [(name, layer["class_name"]) for name, layer in layers.items()] == [
        ("x", "InputLayer"), ("act_plus3", "Rescaling"), ("act_relu6", "ReLU"), ("act_div6", "Rescaling"),
        ("act", "Multiply")]
    assert (layers["act_plus3"]["config"]["scale"], layers["act_plus3"]["config"]["offset"]) == (1.0, 3.0)
    assert layers["act_relu6"]["config"]["max_value"] == 6.0
    assert layers["act_div6"]["config"]["scale"] == 1.0 / 6.0
    assert layers["act_plus3"]["inbound_nodes"] == [[["x", 0, 0, {}]]]
    assert layers["act"]["inbound_nodes"] == [[["x", 0, 0, {}], ["act_div6", 0, 0, {}]]]


def test_hard_silu_of_a_shared_dense_layer_is_applied_after_each_call_and_read_from_there() -> None:
    d = changed(dense("d"), activation="hard_swish")
    model = functional(entry(input_layer("x")), entry(d, call(tensor("x")), call(tensor("y"))),
                       entry(obj("Dense", name="y", units=3), call(tensor("d"))),
                       entry(obj("Concatenate", name="cat", axis=-1), call([tensor("d", 1), tensor("y")])),
                       outputs=[["d", 1, 0], ["cat", 0, 0]])
    translated = translate_model(model, Context(WHERE, keras3=True))["config"]
    layers = {layer["name"]: layer for layer in translated["layers"]}
    assert layers["d"]["config"]["activation"] == "linear"
    assert layers["d_plus3"]["inbound_nodes"] == [[["d", 0, 0, {}]], [["d", 1, 0, {}]]]
    assert layers["d_hard_silu"]["inbound_nodes"] == [[["d", 0, 0, {}], ["d_div6", 0, 0, {}]],
                                                      [["d", 1, 0, {}], ["d_div6", 1, 0, {}]]]
    # every other reader of d reads the end of its chain, call by call
    assert layers["y"]["inbound_nodes"] == [[["d_hard_silu", 0, 0, {}]]]
    assert layers["cat"]["inbound_nodes"] == [[["d_hard_silu", 1, 0, {}], ["y", 0, 0, {}]]]
    assert translated["output_layers"] == [["d_hard_silu", 1, 0], ["cat", 0, 0]]


def test_added_layers_take_names_no_layer_has() -> None:
    taken = obj("Dense", name="act_plus3", units=3)
    model = functional(entry(input_layer("x")), entry(taken, call(tensor("x"))),
                       entry(obj("Activation", name="act", activation="hard_sigmoid"), call(tensor("act_plus3"))),
                       outputs=("act", 0, 0))
    assert list(layers_of(model)) == ["x", "act_plus3", "act_plus3_2", "act_relu6", "act"]
    # Keras 2's hard_sigmoid is tfjs' own: kept as it is
    assert layers_of(model, Context(WHERE, keras3=False))["act"]["config"]["activation"] == "hard_sigmoid"


def test_sequential_with_hard_silu_becomes_functional() -> None:
    seq = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        input_layer("x"), changed(dense("d"), activation="hard_silu"), obj("Dense", name="out", units=1)]}}
    translated = translate_model(seq, K3)
    assert translated["class_name"] == "Functional"
    config = translated["config"]
    assert [layer["name"] for layer in config["layers"]] == ["x", "d", "d_plus3", "d_relu6", "d_div6", "d_hard_silu",
                                                             "out"]
    assert config["layers"][-1]["inbound_nodes"] == [[["d_hard_silu", 0, 0, {}]]]
    assert config["input_layers"] == [["x", 0, 0]] and config["output_layers"] == [["out", 0, 0]]


def test_scalar_op_layers_become_rescaling() -> None:
    def op(cls: str, name: str, *args: Any) -> dict[str, Any]:
        return {"module": "keras.src.ops.numpy", "class_name": cls, "config": {"name": name},
                "registered_name": cls, "name": name, "inbound_nodes": [call(*args)]}

    model = functional(entry(input_layer("x")), op("Add", "plus", tensor("x"), 3.0),
                       op("Subtract", "minus", 2.0, tensor("plus")), op("Multiply", "times", 0.5, tensor("minus")),
                       outputs=("times", 0, 0))
    layers = layers_of(model)
    assert [(layers[n]["class_name"], layers[n]["config"]["scale"], layers[n]["config"]["offset"])
            for n in ("plus", "minus", "times")] == [("Rescaling", 1.0, 3.0), ("Rescaling", -1.0, 2.0),
                                                     ("Rescaling", 0.5, 0.0)]
    assert layers["minus"]["inbound_nodes"] == [[["plus", 0, 0, {}]]]
    int_tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "dtype": "int32",
                                                               "keras_history": ["x", 0, 0]}}
    message = error_of(functional(entry(input_layer("x")), op("Add", "plus", int_tensor, 1), outputs=("plus", 0, 0)))
    assert "layer 'plus' (Add op): applies to a int32 tensor" in message


def test_pooling_with_keepdims_becomes_pooling_and_reshape() -> None:
    features = {"class_name": "__keras_tensor__", "config": {"shape": [None, 4, 4, 16], "dtype": "float32",
                                                             "keras_history": ["x", 0, 0]}}
    pool = obj("GlobalAveragePooling2D", name="pool", data_format="channels_last", keepdims=True)
    layers = layers_of(functional(entry(input_layer("x")), entry(pool, call(features)), outputs=("pool", 0, 0)))
    assert [(name, layer["class_name"]) for name, layer in layers.items()] == [
        ("x", "InputLayer"), ("pool_pool", "GlobalAveragePooling2D"), ("pool", "Reshape")]
    assert "keepdims" not in layers["pool_pool"]["config"]
    assert layers["pool"]["config"]["target_shape"] == [1, 1, 16]
    assert layers["pool"]["inbound_nodes"] == [[["pool_pool", 0, 0, {}]]]


def test_normalization_becomes_rescaling_layers_filled_from_its_statistics() -> None:
    from tfjs_build.convert.layers.normalization import fill_normalizations

    ctx = Context(WHERE, keras3=True)
    plain = obj("Normalization", name="norm", axis=[-1], invert=False, mean=None, variance=None)
    inverted = obj("Normalization", name="back", axis=[-1], invert=True, mean=[1.0, 2.0, 3.0],
                   variance=[4.0, 0.0, 9.0])
    topology = translate_model(functional(entry(input_layer("x")), entry(plain, call(tensor("x"))),
                                          entry(inverted, call(tensor("norm"))), outputs=("back", 0, 0)), ctx)
    layers = {layer["name"]: layer for layer in topology["config"]["layers"]}
    assert [(n, layers[n]["class_name"]) for n in layers] == [("x", "InputLayer"), ("norm_center", "Rescaling"),
                                                             ("norm", "Rescaling"), ("back", "Rescaling")]
    assert layers["norm"]["inbound_nodes"] == [[["norm_center", 0, 0, {}]]]
    adapted = (np.array([0.5, -1.0, 2.0], np.float32), np.array([0.25, 1e-20, 4.0], np.float32))
    fill_normalizations(topology, ctx, {"norm": adapted}, WHERE)
    assert layers["norm_center"]["config"]["offset"] == [-0.5, 1.0, -2.0]
    assert layers["norm"]["config"]["scale"] == [2.0, float(np.float32(1e7)), 0.5]  # 1 / max(sqrt(var), 1e-7)
    assert (layers["back"]["config"]["scale"], layers["back"]["config"]["offset"]) == (
        [2.0, float(np.float32(1e-7)), 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(UnsupportedModelError, match="'norm' has no mean and variance"):
        fill_normalizations(topology, ctx, {}, WHERE)


def test_normalization_arithmetic_is_kerass_within_two_float32_ulps() -> None:
    """(x - mean) * (1 / std) against Keras' (x - mean) / std, in float32, over every variance regime."""
    from tfjs_build.convert.layers.normalization import KERAS_EPSILON

    variance = np.array([0.0, 1e-30, 1e-14, 3e-14, 1e-9, 0.01, 1.0, 1e4, 3e30], np.float32)
    std = np.maximum(np.sqrt(variance), KERAS_EPSILON)
    x = np.random.default_rng(0).normal(0.0, 10.0, (1000, variance.size)).astype(np.float32)
    centered = x - np.float32(0.5)
    keras = centered / std
    ours = centered * (np.float32(1.0) / std)
    ulp = np.spacing(np.abs(keras))
    assert np.max(np.abs(ours - keras) / ulp) <= 2.0


def test_normalization_in_keras2_files_needs_the_last_axis() -> None:
    norm = obj("Normalization", name="norm", axis=[1], invert=False, mean=[1.0, 2.0], variance=[1.0, 1.0])
    message = error_of(functional(entry(input_layer("x")), entry(norm, [["x", 0, 0, {}]])), K2)
    assert "layer 'norm' (Normalization): option axis=[1] is not supported in a Keras 2 file" in message
