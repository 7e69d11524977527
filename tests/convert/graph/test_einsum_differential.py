"""Differential test of the Einsum rewrite: random and model equations, TF vs TF.js on cpu, wasm and webgl.

Every case is one output of a single converted model (dims unknown to the converter among them), so each
backend runs all of them in one TF.js process.
"""

from __future__ import annotations

import pytest

from .differential import Batch, build_batch, mismatches, model_ops
from .einsum_cases import model_cases, random_cases
from .test_einsum import tf_cases

pytestmark = [pytest.mark.slow]
RANDOM_CASES = 48


@pytest.fixture(scope="module")
def einsums(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    import tensorflow as tf

    cases = tf_cases(model_cases() + random_cases(RANDOM_CASES, seed=11))
    specs, feeds, labels = [], [], []
    for case, arrays in cases:
        specs += [tf.TensorSpec(spec, tf.float32) for spec in case.specs]
        feeds += arrays
        declared = ", ".join(str(list(spec)).replace("None", "?") for spec in case.specs)
        labels.append(f"{case.equation} on {', '.join(str(a.shape) for a in arrays)} (declared {declared})")

    def fn(*inputs: tf.Tensor) -> list[tf.Tensor]:
        outputs, at = [], 0
        for case, _ in cases:
            outputs.append(tf.einsum(case.equation, *inputs[at:at + len(case.shapes)]))
            at += len(case.shapes)
        return outputs

    return build_batch(tmp_path_factory.mktemp("einsums"), fn, specs, feeds, labels)


def test_no_einsum_is_left_for_the_default_backends(einsums: Batch) -> None:
    assert "Einsum" not in model_ops(einsums.model_json)
    (line,) = [line for line in einsums.result.rewrites if "Einsum" in line]
    assert line.startswith(f"rewrote {len(einsums.labels)} Einsum nodes as ")


@pytest.mark.node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_einsums_match_tensorflow_in_node(einsums: Batch, backend: str, run_tfjs: object) -> None:
    got = run_tfjs(einsums.out_dir, einsums.inputs, backend)  # type: ignore[operator]
    assert mismatches(einsums, got) == []


@pytest.mark.browser
def test_einsums_match_tensorflow_on_webgl(einsums: Batch, chromium: str) -> None:
    from tfjs_build.verify.runner import run_in_tfjs

    assert mismatches(einsums, run_in_tfjs(einsums.out_dir, einsums.inputs, "webgl", timeout=300)) == []
