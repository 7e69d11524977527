"""optimize_for_tfjs on real frozen graphs, checked numerically by TensorFlow itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .conftest import LEAKY_ALPHA
from .graphs import freeze, ops_of, run_graph, unfuse

pytestmark = pytest.mark.slow
FUSED = {"_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul"}


def optimize(frozen: Any, backends: tuple[str, ...] = ("cpu", "wasm")) -> tuple[Any, list[str]]:
    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    return optimize_for_tfjs(frozen.graph_def, backends=backends, output_nodes=frozen.output_nodes)


def plain(name: str) -> str:
    """``functional_25_1/relu6_1/Relu6`` -> ``functional/relu6/Relu6``: Keras numbers models built
    earlier in the same process, and tracing adds one more scope suffix."""
    return re.sub(r"(_\d+)+(?=/|$)", "", name)


def fused_ops_by_name(graph_def: Any) -> dict[str, list[str]]:
    return {plain(n.name): [s.decode() for s in n.attr["fused_ops"].list.s] for n in graph_def.node if n.op in FUSED}


def nodes_by_name(graph_def: Any) -> dict[str, Any]:
    return {plain(n.name): n for n in graph_def.node}


@pytest.fixture(scope="module")
def optimized(convnet: tuple[Any, Any]) -> tuple[Any, list[str]]:
    return optimize(convnet[1])


def test_convnet_matches_tensorflow(convnet: Any, optimized: Any, image_batch: np.ndarray, assert_close: Callable) -> None:
    model, frozen = convnet
    graph_def, _ = optimized
    before = run_graph(frozen.graph_def, {frozen.inputs[0]: image_batch}, frozen.outputs)[0]
    after = run_graph(unfuse(graph_def), {frozen.inputs[0]: image_batch}, frozen.outputs)[0]
    assert_close(after, before, rtol=1e-5)
    assert_close(after, model(image_batch, training=False).numpy(), rtol=1e-5)


def test_batch_norms_fold_into_the_convolutions(convnet: Any, optimized: Any) -> None:
    import tensorflow as tf

    model, frozen = convnet
    # Grappler leaves each BN as Mul + AddV2 by constants after the conv (or folds the Mul itself)...
    bn_nodes = [n for n in frozen.graph_def.node if "batchnorm" in n.name and n.op in ("Mul", "AddV2")]
    assert {n.op for n in bn_nodes} == {"Mul", "AddV2"}
    graph_def, report = optimized
    # ... and after folding none of them is left, every linear op is fused,
    assert not any("batchnorm" in n.name and n.op not in FUSED | {"Const"} for n in graph_def.node)
    assert not {"Conv2D", "DepthwiseConv2dNative", "MatMul"} & set(ops_of(graph_def))
    assert f"folded {len(bn_nodes)} batch norm/scale/shift nodes into weights" in report
    # ... and the first conv's weights are exactly the BN-folded Keras weights.
    conv, bn = model.get_layer("conv_relu"), model.get_layer("bn1")
    gamma, beta, mean, var = (w.numpy().astype(np.float64) for w in bn.weights)
    factor = gamma / np.sqrt(var + bn.epsilon)
    fused = nodes_by_name(graph_def)["functional/relu/Relu"]
    consts = {n.name: tf.make_ndarray(n.attr["value"].tensor) for n in graph_def.node if n.op == "Const"}
    np.testing.assert_allclose(consts[fused.input[1]], conv.kernel.numpy() * factor, rtol=1e-6)
    np.testing.assert_allclose(consts[fused.input[2]], (conv.bias.numpy() - mean) * factor + beta, rtol=1e-6, atol=1e-6)


def test_fusions_and_activations(optimized: Any) -> None:
    import tensorflow as tf

    graph_def, report = optimized
    fused = fused_ops_by_name(graph_def)
    # The fused node carries the name of the last node it replaced (the activation).
    assert fused == {
        "functional/relu/Relu": ["BiasAdd", "Relu"],
        "functional/relu6/Relu6": ["BiasAdd", "Relu6"],
        "functional/sigmoid/Sigmoid": ["BiasAdd", "Sigmoid"],  # Grappler already merged bn3's Mul
        "functional/conv_elu/Elu": ["BiasAdd", "Elu"],
        "functional/leaky/LeakyRelu": ["BiasAdd", "LeakyRelu"],
        "functional/conv_nobias/Relu": ["BiasAdd", "Relu"],  # with a zero bias
        "functional/bn_res/batchnorm/add": ["BiasAdd"],  # the residual branch
        "functional/prelu_conv/add": ["BiasAdd", "Prelu"],  # alpha per position: proven on cpu and wasm
        "functional/prelu_shared/add": ["BiasAdd", "Prelu"],
        "functional/prelu_dense/add": ["BiasAdd", "Prelu"],
        "functional/conv_tanh/BiasAdd": ["BiasAdd"],
        "functional/dense_gelu/BiasAdd": ["BiasAdd"],
        "functional/logits/BiasAdd": ["BiasAdd"],
    }
    nodes = nodes_by_name(graph_def)
    assert nodes["functional/relu6/Relu6"].op == "FusedDepthwiseConv2dNative"
    assert nodes["functional/logits/BiasAdd"].op == "_FusedMatMul"
    assert nodes["functional/leaky/LeakyRelu"].attr["leakyrelu_alpha"].f == pytest.approx(LEAKY_ALPHA)
    assert all(n.attr["num_args"].i == len(n.input) - 2 for n in graph_def.node if n.op in FUSED)
    zero = {n.name: n for n in graph_def.node}[nodes["functional/conv_nobias/Relu"].input[2]]
    assert zero.name == "tfjs_build/zero_bias_4"
    assert not tf.make_ndarray(zero.attr["value"].tensor).any()
    # tanh is not implemented inside fused ops on any backend of TF.js 4.22: it stays a node.
    assert plain(nodes["functional/conv_tanh/Tanh"].input[0]) == "functional/conv_tanh/BiasAdd"
    assert "fused 1 FusedDepthwiseConv2dNative, 7 _FusedConv2D, 2 _FusedMatMul" in report
    assert any(line.startswith("withheld 1 _FusedConv2D + tanh fusion (the activation stays a separate op): "
                               "not proven in TF.js 4.22.0 (cpu: ") for line in report)


def test_keras_prelu_fuses_with_its_alpha(convnet: Any, optimized: Any) -> None:
    import tensorflow as tf

    model, _ = convnet
    graph_def, report = optimized
    assert "fused 3 PReLU activations (Keras lowering) into conv/matmul" in report
    lowering = sorted(n.op for n in graph_def.node if "/prelu_" in n.name and n.op not in FUSED | {"Const"})
    assert lowering == []
    nodes = nodes_by_name(graph_def)
    consts = {n.name: tf.make_ndarray(n.attr["value"].tensor) for n in graph_def.node if n.op == "Const"}
    for fused_name, layer, expected_shape in (
        ("functional/prelu_conv/add", "prelu_conv", (5, 5, 4)),  # per position, kept rank 3
        ("functional/prelu_shared/add", "prelu_shared", (4,)),  # shared over height and width
        ("functional/prelu_dense/add", "prelu_dense", (5,)),
    ):
        node = nodes[fused_name]
        assert node.attr["num_args"].i == 2
        alpha = consts[node.input[3]]
        assert alpha.shape == expected_shape
        np.testing.assert_array_equal(alpha, model.get_layer(layer).alpha.numpy().reshape(expected_shape))


def test_zero_pads_become_explicit_padding(optimized: Any) -> None:
    graph_def, report = optimized
    assert "merged 1 zero Pad node into convolutions (explicit padding)" in report
    nodes = nodes_by_name(graph_def)
    conv = nodes["functional/sigmoid/Sigmoid"]
    assert conv.attr["padding"].s == b"EXPLICIT"
    assert list(conv.attr["explicit_paddings"].list.i) == [0, 0, 1, 1, 1, 1, 0, 0]
    # TF cannot even infer shapes of an EXPLICIT depthwise conv in graph mode: that Pad stays.
    assert [plain(n.name) for n in graph_def.node if n.op == "Pad"] == ["functional/pad_dw/Pad"]


def test_gelu_erfc_is_rewritten(optimized: Any) -> None:
    graph_def, report = optimized
    assert "Erfc" not in ops_of(graph_def)
    assert any(line.startswith("rewrote 1 Erfc node as 1 - Erf(x)") for line in report)


def test_outputs_keep_their_names_and_output_is_deterministic(convnet: Any, optimized: Any) -> None:
    frozen = convnet[1]
    graph_def, _ = optimized
    names = {n.name for n in graph_def.node}
    assert set(frozen.output_nodes) <= names
    again, _ = optimize(frozen)
    assert again.SerializeToString(deterministic=True) == graph_def.SerializeToString(deterministic=True)


def test_fusion_follows_backend_data(convnet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in data ("wasm" without a fused depthwise kernel, and fused sigmoid not proven there)
    must block those fusions."""
    from tfjs_build.checks import fusion_support as fs
    from tfjs_build.checks import op_support as ops

    real = ops.load()
    stand_in = ops.OpSupport(
        tfjs_version=real.tfjs_version,
        op_kernels=real.op_kernels,
        backend_kernels={**real.backend_kernels, "wasm": real.backend_kernels["wasm"] - {"FusedDepthwiseConv2D"}},
        bias_rank1_only=real.bias_rank1_only,
    )
    monkeypatch.setattr(ops, "load", lambda: stand_in)
    table = fs.load()
    sigmoid = fs.Fusion("_FusedConv2D", "sigmoid").key
    no_sigmoid = fs.FusionTable(table.tfjs_version, {**table.proven, "wasm": table.proven["wasm"] - {sigmoid}},
                                table.failed)
    with fs.override(no_sigmoid):
        cpu_only = fused_ops_by_name(optimize(convnet[1], ("cpu",))[0])
        both, report = optimize(convnet[1], ("cpu", "wasm"))
    both = fused_ops_by_name(both)
    assert cpu_only["functional/sigmoid/Sigmoid"] == ["BiasAdd", "Sigmoid"]
    assert both["functional/bn3/batchnorm/add"] == ["BiasAdd"]
    assert "withheld 1 _FusedConv2D + sigmoid fusion (the activation stays a separate op): not proven in TF.js " \
           "4.22.0 (wasm: not measured)" in report
    assert "functional/relu6/Relu6" in cpu_only
    assert not any("dw" in name for name in both), "depthwise must stay unfused"


@pytest.fixture(scope="module")
def fused_batch_norm_graph() -> tuple[Any, dict[str, np.ndarray]]:
    """Conv -> Identity chain -> inference FusedBatchNormV3 -> Relu, without Grappler."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    filt = tf.constant(rng.normal(size=(3, 3, 2, 5)).astype(np.float32))
    scale, offset, mean = (tf.constant(rng.normal(size=5).astype(np.float32)) for _ in range(3))
    variance = tf.constant(rng.uniform(0.5, 2.0, 5).astype(np.float32))

    def fn(x: tf.Tensor) -> tf.Tensor:
        y = tf.identity(tf.identity(tf.nn.conv2d(x, filt, 1, "VALID")))
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(y, scale, offset, mean, variance, epsilon=1e-3, is_training=False)
        return tf.nn.relu(y)

    frozen = freeze(fn, [tf.TensorSpec([1, 5, 5, 2], tf.float32)], grappler=False)
    return frozen, {frozen.inputs[0]: rng.normal(size=(1, 5, 5, 2)).astype(np.float32)}


def test_fused_batch_norm_v3_folds(fused_batch_norm_graph: Any, assert_close: Callable) -> None:
    frozen, feed = fused_batch_norm_graph
    assert {"FusedBatchNormV3", "Identity", "Conv2D"} <= set(ops_of(frozen.graph_def))
    graph_def, report = optimize(frozen)
    assert sorted(set(ops_of(graph_def))) == ["Const", "Identity", "Placeholder", "_FusedConv2D"]
    assert ops_of(graph_def).count("Identity") == 1  # only the output node itself
    assert any(line.startswith("removed 2 Identity nodes") for line in report)
    assert_close(run_graph(graph_def, feed, frozen.outputs)[0], run_graph(frozen.graph_def, feed, frozen.outputs)[0], 1e-5)


@pytest.fixture(scope="module")
def matmul_graph() -> tuple[Any, dict[str, np.ndarray]]:
    """Shared transposed weights, constants on the left, Sub shifts, a scale without bias."""
    import tensorflow as tf

    rng = np.random.default_rng(4)
    w = tf.constant(rng.normal(size=(3, 4)).astype(np.float32))  # used transposed: [out, in]
    filt = tf.constant(rng.normal(size=(1, 1, 4, 3)).astype(np.float32))
    s1, s2, c1, c2 = (tf.constant(rng.normal(size=3).astype(np.float32)) for _ in range(4))

    def fn(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        a = tf.nn.relu(c1 + s1 * tf.matmul(x, w, transpose_b=True))
        b = tf.matmul(x, w, transpose_b=True) * s2
        c = tf.nn.conv2d(tf.reshape(x, [-1, 1, 1, 4]), filt, 1, "VALID") * 2.0 - c2
        return a, b, c

    frozen = freeze(fn, [tf.TensorSpec([2, 4], tf.float32)], grappler=False)
    return frozen, {frozen.inputs[0]: rng.normal(size=(2, 4)).astype(np.float32)}


def test_matmul_folds_with_shared_and_transposed_weights(matmul_graph: Any, assert_close: Callable) -> None:
    frozen, feed = matmul_graph
    # wasm adds a fused transposed matmul's bias wrongly (fusion_support.json): for it they stay apart.
    assert "_FusedMatMul" not in ops_of(optimize(frozen)[0])
    graph_def, _ = optimize(frozen, ("cpu",))
    ops = ops_of(graph_def)
    assert ops.count("_FusedMatMul") == 1 and ops.count("MatMul") == 1 and ops.count("_FusedConv2D") == 1
    assert not {"Mul", "AddV2", "Sub"} & set(ops)
    expected = run_graph(frozen.graph_def, feed, frozen.outputs)
    for got, want in zip(run_graph(graph_def, feed, frozen.outputs), expected, strict=True):
        assert_close(got, want, 1e-5)


@pytest.fixture(scope="module")
def residual_sum_graph() -> tuple[Any, dict[str, np.ndarray]]:
    """Grappler's AddOpsRewrite shape of ``x + BN(conv(x))``: ``AddV2(shift, AddN(x, conv*scale))``,
    once without and once with a conv bias."""
    import tensorflow as tf

    rng = np.random.default_rng(6)
    filt = tf.constant(rng.normal(size=(1, 1, 3, 3)).astype(np.float32))
    scale, shift, bias = (tf.constant(rng.normal(size=3).astype(np.float32)) for _ in range(3))

    def fn(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        plain = tf.math.add_n([x, tf.nn.conv2d(x, filt, 1, "SAME") * scale])
        biased = tf.math.add_n([x, tf.nn.bias_add(tf.nn.conv2d(x, filt, 1, "SAME"), bias) * scale])
        return shift + plain, biased + shift

    frozen = freeze(fn, [tf.TensorSpec([1, 4, 4, 3], tf.float32)], grappler=False)
    return frozen, {frozen.inputs[0]: rng.normal(size=(1, 4, 4, 3)).astype(np.float32)}


def test_shift_after_a_residual_sum_moves_into_the_conv_bias(residual_sum_graph: Any, assert_close: Callable) -> None:
    frozen, feed = residual_sum_graph
    assert ops_of(frozen.graph_def).count("AddN") == 2
    graph_def, _ = optimize(frozen)
    assert sorted(op for op in ops_of(graph_def) if op not in ("Const", "Placeholder", "Identity")) == [
        "AddN", "AddN", "_FusedConv2D", "_FusedConv2D"
    ]
    assert set(frozen.output_nodes) <= {n.name for n in graph_def.node}
    expected = run_graph(frozen.graph_def, feed, frozen.outputs)
    for got, want in zip(run_graph(unfuse(graph_def), feed, frozen.outputs), expected, strict=True):
        assert_close(got, want, 1e-5)


def test_conv1d_squeeze_moves_so_batch_norm_folds_and_fuses(assert_close: Callable) -> None:
    import tensorflow as tf

    from .conftest import build_conv1d
    from .graphs import randomize

    net = build_conv1d()
    randomize(net, seed=4)
    frozen = freeze(lambda t: net(t, training=False), [tf.TensorSpec([None, 10, 4], tf.float32)])
    graph_def, report = optimize(frozen)
    assert any(line.startswith("moved Conv1D Squeezes below") for line in report)
    fused = fused_ops_by_name(graph_def)
    assert sorted(fused.values()) == [["BiasAdd", "Relu"], ["BiasAdd", "Relu"]]
    # Each Squeeze now comes after the fused conv, and the output keeps its name.
    producers = {n.name: n.op for n in graph_def.node}
    squeezes = [n for n in graph_def.node if n.op == "Squeeze"]
    assert len(squeezes) == 2 and all(producers[s.input[0]] == "_FusedConv2D" for s in squeezes)
    assert set(frozen.output_nodes) <= set(producers)
    signal = np.random.default_rng(5).normal(size=(2, 10, 4)).astype(np.float32)
    (got,) = run_graph(unfuse(graph_def), {frozen.inputs[0]: signal}, frozen.outputs)
    assert_close(got, net(signal).numpy(), rtol=1e-5)


def test_new_constants_keep_the_control_inputs_of_the_ones_they_replace() -> None:
    """A constant inside a loop frame carries a control input; its folded copies must keep it."""
    import tensorflow as tf

    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    rng = np.random.default_rng(7)
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [1, 2, 2, 3], name="x")
        with tf.control_dependencies([tf.no_op(name="gate")]):
            weights = tf.constant(rng.normal(size=(1, 1, 3, 3)).astype(np.float32), name="weights")
        outputs = [
            tf.identity(tf.nn.relu(tf.nn.conv2d(x, weights, 1, "SAME") * rng.normal(size=3).astype(np.float32)), name=f"y{i}")
            for i in range(2)
        ]
    graph_def, _ = optimize_for_tfjs(graph.as_graph_def(), backends=("cpu",), output_nodes=["y0", "y1"])
    nodes = {n.name: n for n in graph_def.node}
    fused = [n for n in graph_def.node if n.op == "_FusedConv2D"]
    assert len(fused) == 2
    for node in fused:  # the scaled weights and the zero bias are both new or rewritten constants
        for ref in node.input[1:3]:
            assert "^gate" in nodes[ref].input, ref
    feed = {"x:0": rng.normal(size=(1, 2, 2, 3)).astype(np.float32)}
    names = [f"{t.op.name}:0" for t in outputs]
    for got, want in zip(run_graph(unfuse(graph_def), feed, names), run_graph(graph.as_graph_def(), feed, names), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
