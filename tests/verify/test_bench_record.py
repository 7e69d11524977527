"""tfjs.bench.json: merging runs, machine descriptors, strict reading; bench inputs read from model.json."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.bench.inputs import graph_input_specs, layers_input_specs
from tfjs_build.bench.record import (
    BenchRecord,
    ModelBench,
    machine_difference,
    merge,
    parse_bench,
    read_bench,
    render_bench,
)
from tfjs_build.checks.accuracy import sample_inputs
from tfjs_build.errors import TfjsBuildError

from .test_bench_budgets import MACHINE, figures

NODE_ONLY = replace(MACHINE, chromium=None, gl_renderer=None)


def test_a_record_reads_back_byte_identical(tmp_path: Path) -> None:
    record = BenchRecord(MACHINE, {"digits": ModelBench("f" * 64, {"wasm": figures(0.5, reference=8.0)})})
    text = render_bench(record)
    assert parse_bench(text, "x") == record
    assert render_bench(parse_bench(text, "x")) == text
    assert read_bench(tmp_path / "absent.json") == BenchRecord()


def test_runs_on_the_same_machine_merge_by_backend() -> None:
    old = BenchRecord(MACHINE, {"digits": ModelBench("f" * 64, {"webgl": figures(6.0)}),
                                "other": ModelBench("a" * 64, {"cpu": figures(1.0)})})
    new, note = merge(old, NODE_ONLY, {"digits": ModelBench("f" * 64, {"wasm": figures(0.5)})})
    assert note is None
    assert new.machine == MACHINE  # what a node-only run cannot know is kept from the record
    assert sorted(new.models["digits"].backends) == ["wasm", "webgl"]
    assert new.models["other"] == old.models["other"]


def test_a_rebuilt_model_keeps_none_of_its_old_figures() -> None:
    old = BenchRecord(MACHINE, {"digits": ModelBench("f" * 64, {"webgl": figures(6.0)})})
    new, _ = merge(old, NODE_ONLY, {"digits": ModelBench("e" * 64, {"wasm": figures(0.5)})})
    assert new.models["digits"] == ModelBench("e" * 64, {"wasm": figures(0.5)})


def test_another_machine_replaces_the_record_with_a_note() -> None:
    old = BenchRecord(MACHINE, {"other": ModelBench("a" * 64, {"cpu": figures(1.0)})})
    faster = replace(NODE_ONLY, cpu="AMD EPYC 7763 64-Core Processor", cores=4)
    new, note = merge(old, faster, {"digits": ModelBench("f" * 64, {"wasm": figures(0.5)})})
    assert list(new.models) == ["digits"] and new.machine == faster
    assert note == ("tfjs.bench.json held figures of another machine (CPU differs (Intel(R) Xeon(R) Processor there, "
                    "AMD EPYC 7763 64-Core Processor here)); this run replaces them")


def test_which_parts_of_the_machine_each_backend_depends_on() -> None:
    gpu = replace(MACHINE, gl_renderer="ANGLE (NVIDIA)")
    assert machine_difference(gpu, MACHINE, "wasm") is None
    assert machine_difference(gpu, MACHINE, "webgl") == "GL renderer differs (ANGLE (SwiftShader) there, ANGLE (NVIDIA) here)"
    assert machine_difference(replace(MACHINE, node="v22.1.0"), MACHINE, "webgl") is None
    assert machine_difference(replace(MACHINE, node="v22.1.0"), MACHINE, "cpu") == \
        "Node.js differs (v20.20.2 there, v22.1.0 here)"


@pytest.mark.parametrize(("text", "message"), [
    ("{", "x: not a valid tfjs.bench.json (Expecting property name"),
    ('{"version": 2, "models": {}}', "x: not a tfjs.bench.json of version 1; restore it from git"),
    ('{"version": 1, "models": {"m": {"fingerprint": "f", "backends": {"metal": {}}}}}',
     "x: not a valid tfjs.bench.json (missing key 'models.m.backends.metal.mode')"),
    ('{"version": 1, "models": {"m": {"fingerprint": "f", "backends": {}}}, "extra": 1}',
     "x: not a valid tfjs.bench.json (unknown key 'extra'"),
])
def test_a_bad_record_names_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(TfjsBuildError) as caught:
        parse_bench(text, "x")
    assert str(caught.value).startswith(message)


def test_an_unknown_backend_is_refused() -> None:
    good = render_bench(BenchRecord(MACHINE, {"m": ModelBench("f", {"wasm": figures(0.5)})}))
    with pytest.raises(TfjsBuildError) as caught:
        parse_bench(good.replace('"wasm"', '"metal"'), "x")
    assert "models.m.backends: unknown backend 'metal' (expected cpu, wasm, webgl)" in str(caught.value)


def test_graph_inputs_come_from_the_signature_without_resources() -> None:
    model_json = {"signature": {"inputs": {
        "image": {"name": "image:0", "dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "-1"}, {"size": "28"}]}},
        "ids": {"name": "ids:0", "dtype": "DT_INT64", "tensorShape": {"dim": [{"size": "3"}]}},
        "table": {"name": "t:0", "dtype": "DT_RESOURCE", "resourceId": 1},
    }}}
    specs = graph_input_specs(model_json)
    assert specs == [("image", "float32", [None, 28]), ("ids", "int64", [3])]
    (sample,) = sample_inputs(specs, 1)
    assert sample["image"].shape == (1, 28) and sample["ids"].dtype == np.int64


def test_layers_inputs_are_named_as_tfjs_names_them() -> None:
    functional = {"modelTopology": {"model_config": {"class_name": "Functional", "config": {
        "input_layers": [["b", 0, 0], ["a", 0, 0]],
        "layers": [{"class_name": "InputLayer", "config": {"name": "a", "batch_input_shape": [None, 2], "dtype": "int32"}},
                   {"class_name": "InputLayer", "config": {"name": "b", "batch_shape": [None, 3]}}]}}}}
    assert layers_input_specs(functional) == [("b", "float32", [None, 3]), ("a", "int32", [None, 2])]
    sequential = {"modelTopology": {"model_config": {"class_name": "Sequential", "config": {
        "layers": [{"class_name": "Dense", "config": {"name": "dense", "batch_input_shape": [None, 4]}}]}}}}
    assert layers_input_specs(sequential) == [("dense_input", "float32", [None, 4])]
