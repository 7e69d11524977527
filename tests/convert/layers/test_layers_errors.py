"""Models tfjs-layers cannot run fail before anything is written, with a message naming
tfjs.yaml:line:col, the layer, its class, the option and a fix."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tfjs_build.errors import UnsupportedModelError

pytestmark = pytest.mark.slow


def _custom_layer_model() -> Any:
    import keras

    @keras.saving.register_keras_serializable(package="tfjs_build_tests")
    class Scale(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x * 2.0

    inp = keras.Input((3,))
    return keras.Model(inp, keras.layers.Dense(2)(Scale(name="doubler")(inp)))


def _lambda_model() -> Any:
    import keras

    inp = keras.Input((3,))
    return keras.Model(inp, keras.layers.Lambda(lambda x: x + 1.0, name="plus_one")(inp))


def _gru_reset_after_model() -> Any:
    import keras

    return keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3, name="gru_default")])


def _grouped_conv_model() -> Any:
    import keras

    return keras.Sequential([keras.Input((5, 5, 4)), keras.layers.Conv2D(4, 3, groups=2, name="grouped")])


def _subtract_model() -> Any:
    import keras

    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    return keras.Model([a, b], keras.layers.Subtract(name="minus")([a, b]))


def _hard_sigmoid_cell_model() -> Any:
    """Keras 3's hard_sigmoid is rewritten as layers, which cannot go inside a recurrent cell."""
    import keras

    return keras.Sequential([keras.Input((4, 3)), keras.layers.LSTM(2, recurrent_activation="hard_sigmoid",
                                                                     name="gate")])


def _hard_silu_wrapped_model() -> Any:
    import keras

    inner = keras.layers.Dense(2, activation="hard_silu", name="inner")
    return keras.Sequential([keras.Input((4, 3)), keras.layers.TimeDistributed(inner, name="each")])


def _op_layer_model() -> Any:
    import keras

    inp = keras.Input((3,), name="x")
    return keras.Model(inp, keras.layers.Dense(2, name="d")(keras.ops.mean(inp, axis=-1, keepdims=True)))


def _mixed_precision_model() -> Any:
    import keras

    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="mixed_float16", name="half")])


def _bilinear_upsampling_model() -> Any:
    import keras

    return keras.Sequential([keras.Input((4, 4, 3)), keras.layers.UpSampling2D(2, interpolation="bilinear",
                                                                               name="up")])


CASES: dict[str, tuple[Callable[[], Any], list[str]]] = {
    "custom": (_custom_layer_model, ["'doubler' (Scale)", "custom object", "tfjs_build_tests>Scale",
                                     "built-in Keras layers", "format: graph"]),
    "lambda": (_lambda_model, ["'plus_one' (Lambda)", "Python code", "format: graph"]),
    "gru": (_gru_reset_after_model, ["'gru_default' (GRU)", "option reset_after=true", "reset_after=false"]),
    "groups": (_grouped_conv_model, ["'grouped' (Conv2D)", "option groups=2", "groups=1"]),
    "subtract": (_subtract_model, ["'minus' (Subtract)", "tfjs-layers has no Subtract layer", "format: graph"]),
    "hard_sigmoid": (_hard_sigmoid_cell_model, ["'gate' (LSTM)", "option recurrent_activation", "'hard_sigmoid'",
                                                "relu6(x+3)/6", "not inside a recurrent cell or a wrapper"]),
    "hard_silu": (_hard_silu_wrapped_model, ["'each/inner' (Dense)", "option activation", "'hard_silu'",
                                             "not inside a recurrent cell or a wrapper"]),
    "bilinear": (_bilinear_upsampling_model, ["'up' (UpSampling2D)", 'option interpolation="bilinear"',
                                              "without half-pixel centers", 'interpolation="nearest"']),
    "op": (_op_layer_model, ["(Mean)", "is the Keras op Mean applied to tensors", "Rescaling",
                             'this call is ["tensor"]']),
    "dtype": (_mixed_precision_model, ["'half' (Dense)", "dtype 'mixed_float16'", "float32"]),
}
# Keras 3 drops an op layer's module in .h5 files (and cannot load them back): there it is an unknown class.
KERAS_ARCHIVE_ONLY = {"op"}


@pytest.mark.parametrize(("case", "suffix"), [(case, suffix) for case in sorted(CASES) for suffix in (".keras", ".h5")
                                              if suffix == ".keras" or case not in KERAS_ARCHIVE_ONLY])
def test_unsupported_model_fails_before_writing(case: str, suffix: str, convert, tmp_path: Path,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    build, expected = CASES[case]
    source = tmp_path_factory.mktemp("bad") / f"{case}{suffix}"
    build().save(source)
    with pytest.raises(UnsupportedModelError) as caught:
        convert(source)
    message = str(caught.value)
    assert re.match(r"^\S*tfjs\.yaml:4:13: models\.m\.source: layer ", message), message
    for part in expected:
        assert part in message, f"{part!r} not in: {message}"
    assert list((tmp_path / "project_m" / "out").iterdir()) == []


@pytest.mark.parametrize("memory", ["plenty", "short"])
def test_nothing_is_extracted_next_to_the_source(memory: str, saved, convert, monkeypatch) -> None:
    """With memory short (a stand-in: Keras' own memory probe patched to say so), Keras extracts
    the archive's weights into a temporary folder beside the file it loads: never the source's."""
    from keras.src.saving import saving_lib

    extracted: list[str] = []
    real_extract = zipfile.ZipFile.extract
    monkeypatch.setattr(saving_lib, "is_memory_sufficient", lambda model: memory == "plenty")
    monkeypatch.setattr(zipfile.ZipFile, "extract",
                        lambda self, member, path=None, pwd=None: extracted.append(str(path)) or
                        real_extract(self, member, path, pwd))
    converted = convert(saved["multi_io_nested.keras"].path)
    assert sorted(p.name for p in converted.project.iterdir()) == ["multi_io_nested.keras", "out", "tfjs.yaml", "work"]
    assert all(Path(p).parent == converted.project / "work" for p in extracted)
    assert len(extracted) == (1 if memory == "short" else 0)


def test_same_layer_name_in_two_nested_models_is_refused(convert, tmp_path_factory: pytest.TempPathFactory) -> None:
    import keras

    def nested(name: str) -> Any:
        inp = keras.Input((3,))
        return keras.Model(inp, keras.layers.Dense(2, name="head")(inp), name=name)

    x = keras.Input((3,))
    source = tmp_path_factory.mktemp("twins") / "twins.keras"
    keras.Model(x, keras.layers.Add()([nested("left")(x), nested("right")(x)])).save(source)
    with pytest.raises(UnsupportedModelError, match=r"two weights would both be named 'head/kernel'.*rename one of "
                       r"the 'head' layers"):
        convert(source)

