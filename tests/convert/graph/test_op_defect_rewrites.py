"""The op-defect pass (passes/op_defects.py) against real TF.js: each defect op_defects.json records
(issue 10's StridedSlice -> Cumsum(axis=-1) among them) in a tiny TF graph, converted for cpu, wasm
and webgl and run there, one TF.js process per backend, must match TensorFlow at 1e-4 * (1 + max|y|);
with the pass switched off the same graphs go wrong; what no rewrite saves is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.convert.graph import optimize
from tfjs_build.convert.graph.passes import op_defects
from tfjs_build.errors import UnsupportedModelError
from tfjs_build.verify.cases import Case, Converted, convert_case, freeze_case, raw_op, run_converted

ALL = ("cpu", "wasm", "webgl")
RNG = np.random.default_rng(10)


def _floats(*shape: int, low: float = -3, high: float = 3) -> np.ndarray:
    return RNG.uniform(low, high, size=shape).astype(np.float32)


def _signed(values: np.ndarray) -> np.ndarray:
    return values * RNG.choice(np.array([-1, 1], dtype=values.dtype), size=values.shape)


def _const(value: Any, dtype: str = "int32") -> Any:
    import tensorflow as tf

    return tf.constant(value, dtype=dtype)


def _slice_then_cumsum(t: Any) -> Any:
    """Issue 10's chain: the first row of a [2, 10] input, then a cumulative sum over its last axis."""
    row = raw_op("StridedSlice", t, _const([0, 0]), _const([1, 0]), _const([1, 1]), end_mask=2)
    return raw_op("Cumsum", row, _const(-1))


def _one_hot(axis: int) -> Callable[[Any], Any]:
    return lambda i: raw_op("OneHot", i, _const(4), _const(0.75, "float32"), _const(-0.5, "float32"), axis=axis)


# name -> (the table's case it shows, backends, inputs, TF function)
CASES: dict[str, tuple[str, tuple[str, ...], list[np.ndarray], Callable[..., Any]]] = {
    "slice_cumsum": ("StridedSlice -> Cumsum (axis -1)", ALL, [_floats(2, 10)], _slice_then_cumsum),
    "cumsum_axis_-2": ("Cumsum (axis < 0)", ALL, [_floats(2, 3, 4)],
                       lambda t: raw_op("Cumsum", t, _const(-2), exclusive=True, reverse=True)),
    "cumprod_axis_-1": ("Cumprod (axis < 0)", ALL, [_floats(3, 5, low=0.5, high=1.5)],
                        lambda t: raw_op("Cumprod", t, _const(-1))),
    "one_hot_axis_0": ("OneHot (other axis)", ("cpu", "webgl"), [RNG.integers(0, 4, size=(3, 2)).astype(np.int32)],
                       _one_hot(0)),
    "floor_div": ("FloorDiv", ALL, [_floats(3, 4, low=-9, high=9), _signed(_floats(4, low=0.7, high=4))],
                  lambda x, y: raw_op("FloorDiv", x, y)),
    "mod": ("Mod", ALL, [_floats(3, 4, low=-9, high=9), _signed(_floats(3, 1, low=0.7, high=4))],
            lambda x, y: raw_op("Mod", x, y)),
    "mod_int32": ("Mod (int32)", ALL, [RNG.integers(-5000, 5000, size=(4, 5)).astype(np.int32),
                                       _signed(RNG.integers(1, 40, size=(5,)).astype(np.int32))],
                  lambda x, y: raw_op("Mod", x, y)),
}


def _convert_all(tmp: Path) -> list[Converted]:
    converted = []
    for name, (_, backends, inputs, fn) in CASES.items():
        case = freeze_case(name, [(inputs, fn)])
        converted.append(convert_case(case, tmp / name, backends))
    return converted


def _verdicts(converted: list[Converted]) -> dict[str, dict[str, str | None]]:
    """Case name -> backend -> verdict (None: matches TensorFlow), every backend in one TF.js process."""
    runs = run_converted(converted, ALL)
    return {c.case.name: {b: runs[b][i] for b in c.backends} for i, c in enumerate(converted)}


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.browser
def test_every_rewritten_defect_matches_tensorflow_on_every_backend(tmp_path: Path, chromium: str) -> None:
    verdicts = _verdicts(_convert_all(tmp_path))
    assert verdicts == {name: dict.fromkeys(backends) for name, (_, backends, _, _) in CASES.items()}


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.browser
def test_without_the_pass_the_same_graphs_go_wrong(tmp_path: Path, chromium: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimize, "avoid_op_defects", lambda *args: [])
    verdicts = _verdicts(_convert_all(tmp_path))
    table = op_defects.load()
    for name, (case, backends, _, _) in CASES.items():
        wrong_on = {b for b in backends if case in table.wrong[b]}
        assert wrong_on, f"{case}: the table lists no backend of {backends} where it is wrong"
        assert {b for b, why in verdicts[name].items() if why is not None} == wrong_on, name


@pytest.mark.slow
def test_each_rewrite_is_reported_with_its_nodes_and_backends() -> None:
    from tensorflow.core.framework import graph_pb2

    for name, (shown, backends, inputs, fn) in CASES.items():
        case = "Cumsum (axis < 0)" if "->" in shown else shown  # the chain's rewrite names the op to blame
        frozen = freeze_case(name, [(inputs, fn)])
        defective = [node for node, op in _node_ops(frozen).items() if op == case.split(" ")[0]]
        _, report = optimize.optimize_for_tfjs(graph_pb2.GraphDef.FromString(frozen.graph), backends=backends,
                                               output_nodes=list(frozen.expected))
        wrong_on = ", ".join(b for b in backends if case in op_defects.load().wrong[b])
        lines = [line for line in report if line.startswith(f"rewrote 1 {case} node as ")]
        assert len(lines) == 1 and lines[0].endswith(f"computes it wrongly on {wrong_on}): {defective[0]}"), report


def _refusal(tmp: Path, case: Case, backends: tuple[str, ...]) -> str:
    with pytest.raises(UnsupportedModelError) as caught:
        convert_case(case, tmp, backends)
    return str(caught.value)


@pytest.mark.slow
def test_one_hot_on_wasm_is_refused_naming_node_op_backend_and_defect(tmp_path: Path) -> None:
    case = freeze_case("one_hot", [([RNG.integers(0, 4, size=(3,)).astype(np.int32)], _one_hot(-1))])
    message = _refusal(tmp_path / "p", case, ALL)
    node = next(name for name in _node_ops(case) if _node_ops(case)[name] == "OneHot")
    assert "tfjs.yaml" in message and "backends" in message.splitlines()[0]
    assert f"node '{node}' (OneHot): on wasm, OneHot (axis -1): NaN in the output" in message
    assert "cpu," not in message.split("OneHot")[1]  # cpu and webgl compute it right: not named as wrong


@pytest.mark.slow
def test_a_scan_over_an_input_of_unknown_rank_is_refused(tmp_path: Path) -> None:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda t: raw_op("Cumsum", t, _const(-1)), autograph=False)
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(tf.TensorSpec(None, tf.float32, name="x0_0")))
    output = frozen.outputs[0].name.split(":")[0]
    case = Case("unranked", frozen.graph.as_graph_def().SerializeToString(), {}, {output: np.zeros(0)})
    message = _refusal(tmp_path / "p", case, ("cpu",))
    assert "(Cumsum): on cpu, Cumsum (axis < 0): TF.js failed to shape the output" in message
    assert "not rewritten: the rank of its input is unknown" in message


@pytest.mark.slow
def test_the_table_decides_what_is_rewritten_and_refused(tmp_path: Path) -> None:
    """A regenerated table changes the pass without code edits: here one that finds Tanh wrong on cpu
    and Cumsum right everywhere."""
    cumsum = freeze_case("cumsum", [([_floats(2, 3)], lambda t: raw_op("Tanh", raw_op("Cumsum", t, _const(-1))))])
    table = op_defects.DefectTable("4.22.0", {"cpu": {"Tanh": "error 0.5 x (1 + max|y|)"}})
    with op_defects.override(table):
        message = _refusal(tmp_path / "refused", cumsum, ("cpu",))
    assert "(Tanh): on cpu, Tanh: error 0.5 x (1 + max|y|) (no exact rewrite avoids it)" in message
    with op_defects.override(op_defects.DefectTable("4.22.0", {})):
        built = convert_case(cumsum, tmp_path / "built", ("cpu",))
    axes = [n for n in _model_nodes(built) if n["op"] == "Const" and n["name"].endswith("nonnegative_axis")]
    assert axes == []
    built = convert_case(cumsum, tmp_path / "rewritten", ("cpu",))
    assert [n for n in _model_nodes(built) if n["name"].endswith("nonnegative_axis")]


def _node_ops(case: Case) -> dict[str, str]:
    from tensorflow.core.framework import graph_pb2

    return {node.name: node.op for node in graph_pb2.GraphDef.FromString(case.graph).node}


def _model_nodes(converted: Converted) -> list[dict[str, Any]]:
    import json

    return json.loads((converted.out_dir / "model.json").read_text(encoding="utf-8"))["modelTopology"]["node"]


@pytest.mark.slow
def test_a_defect_inside_a_control_flow_v2_body_is_refused() -> None:
    """Rewrites reach the main graph only: a Cumsum over axis -1 in a While body is refused, not left wrong."""
    import tensorflow as tf

    from tfjs_build.convert.graph.editor import GraphEditor
    from tfjs_build.convert.graph.passes.shapes import Shapes

    def loop(x: Any) -> Any:
        return tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, raw_op("Cumsum", v, _const(-1))), (0, x))[1]

    graph_def = tf.function(loop).get_concrete_function(tf.TensorSpec([2, 3], tf.float32)).graph.as_graph_def()
    ed = GraphEditor(graph_def, [])
    op_defects.avoid_op_defects(ed, ("wasm",), Shapes(ed))
    with pytest.raises(UnsupportedModelError) as caught:
        op_defects.refuse_marked(ed.to_graph_def(), ("wasm",), "tfjs.yaml:3: models.m.backends")
    message = str(caught.value)
    assert "(Cumsum): on wasm, Cumsum (axis < 0): TF.js failed to execute: out-of-bounds memory access" in message
    assert "control-flow v2 function body" in message and message.startswith("tfjs.yaml:3: models.m.backends: ")
