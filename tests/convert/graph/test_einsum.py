"""Two-operand Einsum as Transpose + BatchMatMulV2: the plan (pure) and its numerics in TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tfjs_build.convert.graph.passes.einsum import Plan, plan

from .graphs import freeze, ops_of, run_graph

SIZES = {"B": 2, "T": 3, "S": 4, "N": 2, "H": 5, "i": 3, "j": 4, "k": 5, "b": 2, "h": 2, "d": 3, "q": 3}
MATMULS = [
    "BTNH,BSNH->BNTS",  # Keras MultiHeadAttention: scores
    "BNTS,BSNH->BTNH",  # Keras MultiHeadAttention: weighted values
    "ij,jk->ik", "ji,jk->ik", "ij,kj->ik", "ji,kj->ki", "bij,bjk->bik", "bhij,bhjd->bhid", "bqhd,bkhd->bhqk",
]


@pytest.mark.parametrize(
    ("equation", "expected"),
    [
        ("BTNH,BSNH->BNTS", Plan((0, 2, 1, 3), (0, 2, 3, 1), False, False, None)),
        ("BNTS,BSNH->BTNH", Plan(None, (0, 2, 1, 3), False, False, (0, 2, 1, 3))),
        ("ij,jk->ik", Plan(None, None, False, False, None)),
        ("ji,kj->ki", Plan(None, None, True, True, (1, 0))),  # adjoints instead of transposes
    ],
)
def test_plan_of_batched_matmuls(equation: str, expected: Plan) -> None:
    assert plan(equation) == expected


@pytest.mark.parametrize(
    "equation",
    ["ii->i", "ij,jk,kl->il", "ij,ij->ij", "i,j->ij", "abc,cd->abd", "...ij,...jk->...ik", "ij,jk->ikz", "ij,jk"],
)
def test_other_equations_are_left_alone(equation: str) -> None:
    assert plan(equation) is None


@pytest.mark.slow
@pytest.mark.parametrize("equation", MATMULS)
def test_rewritten_einsum_matches_tensorflow(equation: str) -> None:
    import tensorflow as tf

    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    lhs, rhs = equation.split("->")[0].split(",")
    shapes = [[SIZES[label] for label in term] for term in (lhs, rhs)]
    frozen: Any = freeze(lambda x, y: tf.einsum(equation, x, y), [tf.TensorSpec(s) for s in shapes], grappler=False)
    graph_def, report = optimize_for_tfjs(frozen.graph_def, backends=("cpu", "wasm"), output_nodes=frozen.output_nodes)
    assert "Einsum" not in ops_of(graph_def) and "BatchMatMulV2" in ops_of(graph_def)
    assert report[0].startswith("rewrote 1 Einsum node as Transpose + BatchMatMulV2 (+ Transpose)")
    rng = np.random.default_rng(len(equation))
    feed = {name: rng.normal(size=s).astype(np.float32) for name, s in zip(frozen.inputs, shapes, strict=True)}
    (want,) = run_graph(frozen.graph_def, feed, frozen.outputs)
    (got,) = run_graph(graph_def, feed, frozen.outputs)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # Backends that all have an Einsum kernel keep it.
    kept, _ = optimize_for_tfjs(frozen.graph_def, backends=("cpu", "webgl"), output_nodes=frozen.output_nodes)
    assert "Einsum" in ops_of(kept)
