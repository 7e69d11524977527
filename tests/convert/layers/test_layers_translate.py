"""Config translation on hand-written Keras 3 / Keras 2 configs (no TensorFlow: fast)."""

from __future__ import annotations

from typing import Any

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
