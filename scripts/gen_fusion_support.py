#!/usr/bin/env python3
"""Prove each fusion on each TF.js backend by running it; write tfjs_build/checks/fusion_support.json.

Rerun when TF.js, fuse.py or prelu.py change:  python scripts/gen_fusion_support.py  (about 2 minutes
on 2 cores; the output is byte-identical when nothing changed). A changed table changes converter
output: bump ``tfjs_build.CONVERTER_VERSION`` with it.

A backend can register a fused kernel and an activation and still compute the pair wrongly, so this
measures instead of reading sources. The patterns come from the fusion passes' own tables:
every fused op of ``fuse.FUSED_OP`` (with each combination of its kernel-picking attrs,
``fusion_support.TRAIT_ATTRS``), every activation of ``fuse.ACTIVATIONS`` plus none, and ``prelu`` in
each ``prelu.ALPHA_LAYOUTS`` layout (per channel from a ``[C]`` or ``[1, 1, C]`` alpha, per position
from ``[H, W, C]``), with a BiasAdd or without (a zero bias), each on every kernel code path of its
base op (``VARIANTS``). Each pattern is built in TensorFlow as SAMPLES independent instances with
shapes, attributes and weights drawn from a generator seeded by its name, converted by tfjs-build
(trusting every fusion, so each is emitted), and run on cpu and wasm in node and on webgl in headless
Chromium, all patterns of a backend in one TF.js process. A fusion is proven on a backend when every
instance gives |tfjs - tf| <= 1e-4 * (1 + max|tf|); otherwise the table says what went wrong (the
error figure, NaN, a wrong shape, or TF.js's own error message).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfjs_build.checks import fusion_support as fs  # noqa: E402
from tfjs_build.verify.cases import (  # noqa: E402
    TOLERANCE,
    Case,
    Sample,
    Verdict,
    convert_case,
    freeze_case,
    raw_op,
    run_converted,
)
from tfjs_build.verify.runner import TFJS_VERSION  # noqa: E402

BACKENDS = ("cpu", "wasm", "webgl")
SEED = 0
SAMPLES = 3  # independent instances of each pattern (one model, one TF.js run)
OUT = ROOT / "tfjs_build" / "checks" / "fusion_support.json"
# TF-side alpha shapes that the prelu pass turns into each emitted layout ("C": output channels).
ALPHA_SHAPES = {fs.PER_CHANNEL: ("C", "1, 1, C"), fs.PER_POSITION: ("H, W, C",)}


@dataclass(frozen=True)
class Pattern:
    """One TF graph to measure: the fusion it must convert to, the kernel code path its base op takes
    (``VARIANTS``) and, for prelu, the alpha shape in TF (``ALPHA_SHAPES``)."""

    fusion: fs.Fusion
    variant: str = ""
    alpha: str = ""

    @property
    def detail(self) -> str:
        return ", ".join(filter(None, [self.variant, f"alpha [{self.alpha}]" if self.alpha else ""]))

    @property
    def name(self) -> str:
        return f"{self.fusion.key} {self.detail}".strip()

    def rng(self, seed: int, sample: int) -> np.random.Generator:
        """Shapes and weights depend on the seed and the name only, so any subset measures the same."""
        return np.random.default_rng([seed, zlib.crc32(self.name.encode()), sample])


def all_patterns() -> list[Pattern]:
    """Every fused form the fusion passes can emit (from their own tables), on each kernel code path."""
    from tfjs_build.convert.graph.passes import fuse, prelu

    unbuilt = sorted(set(fuse.FUSED_OP) - set(LINEAR_BUILDERS))
    if unbuilt:
        raise SystemExit(f"fuse.FUSED_OP fuses {unbuilt}, which this script cannot build yet: add a LINEAR_BUILDERS entry")
    found = []
    for tf_op, fused_op in sorted(fuse.FUSED_OP.items()):
        trait_names = fs.TRAIT_ATTRS.get(fused_op, ())
        for traits, bias in itertools.product(_subsets(trait_names), (True, False)):
            fusions = [fs.Fusion(fused_op, name, bias, "", traits) for name in sorted(fuse.ACTIVATIONS.values())]
            fusions += [fs.Fusion(fused_op, fs.NO_ACTIVATION, bias, "", traits)] if bias else []
            shaped = [(f, "") for f in fusions]
            for layout in prelu.ALPHA_LAYOUTS:
                alphas = [s for s in ALPHA_SHAPES[layout] if tf_op in prelu.CONVS or s == "C"]
                shaped += [(fs.Fusion(fused_op, prelu.PRELU, bias, layout, traits), alpha) for alpha in alphas]
            found += [Pattern(f, variant, alpha) for (f, alpha), variant in itertools.product(shaped, VARIANTS[tf_op])]
    return found


def _subsets(names: Sequence[str]) -> list[tuple[str, ...]]:
    return [combo for size in range(len(names) + 1) for combo in itertools.combinations(names, size)]


# ---------------------------------------------------------------- building patterns in TensorFlow
# Backends pick kernels by shape and by where the input lives: webgl runs a 1x1 conv as a matmul, and
# differently again when its input is a packed texture of odd width (then a per-position prelu alpha
# comes out wrong in TF.js 4.22); other convs run by im2col; a depthwise conv is packed only with
# multiplier 1. So each fusion is measured on each such path, its input always made by an op before
# it (a packed texture on webgl, as inside any network), with a batch and channels of 2 or more.
VARIANTS = {
    "Conv2D": ("1x1 kernel, odd width", "1x1 kernel, even width", "kxk kernel"),
    "DepthwiseConv2dNative": ("multiplier 1", "multiplier 2"),
    "MatMul": ("",),
}
Builder = Callable[[np.random.Generator, str, tuple[str, ...]], tuple[list[int], Callable[[Any], Any]]]


def _ints(rng: np.random.Generator, *ranges: tuple[int, int]) -> list[int]:
    return [int(rng.integers(low, high + 1)) for low, high in ranges]


def _conv2d(rng: np.random.Generator, variant: str, traits: tuple[str, ...]) -> tuple[list[int], Callable[[Any], Any]]:
    import tensorflow as tf

    n, cin, cout = _ints(rng, (2, 3), (2, 5), (3, 6))
    k, stride = (1, 1) if variant.startswith("1x1") else _ints(rng, (2, 3), (1, 2))
    dilation = int(rng.integers(1, 3)) if stride == 1 and k > 1 else 1
    padding = str(rng.choice(["SAME", "VALID"]))
    kernel = tf.constant(rng.normal(size=(k, k, cin, cout)).astype(np.float32))
    h, w = _ints(rng, (k * dilation + 2, 8), (k * dilation + 2, 8))  # outputs of 2x2 or more
    parity = {"odd width": 1, "even width": 0}.get(variant.partition(", ")[2])
    w += parity is not None and w % 2 != parity
    return [n, h, w, cin], lambda x: tf.nn.conv2d(x, kernel, stride, padding, dilations=dilation)


def _depthwise(rng: np.random.Generator, variant: str, traits: tuple[str, ...]) -> tuple[list[int], Callable[[Any], Any]]:
    import tensorflow as tf

    n, cin, k, stride = _ints(rng, (2, 3), (2, 5), (1, 3), (1, 2))
    mult = int(variant.rpartition(" ")[2])
    padding = str(rng.choice(["SAME", "VALID"]))
    kernel = tf.constant(rng.normal(size=(k, k, cin, mult)).astype(np.float32))
    h, w = _ints(rng, (k + 2, 8), (k + 2, 8))
    return [n, h, w, cin], lambda x: tf.nn.depthwise_conv2d(x, kernel, [1, stride, stride, 1], padding)


def _matmul(rng: np.random.Generator, variant: str, traits: tuple[str, ...]) -> tuple[list[int], Callable[[Any], Any]]:
    import tensorflow as tf

    n, k, c = _ints(rng, (2, 4), (2, 6), (2, 6))  # n > 1: wasm's transpose_b bias bug needs a second row
    ta, tb = "transpose_a" in traits, "transpose_b" in traits
    weights = tf.constant(rng.normal(size=(c, k) if tb else (k, c)).astype(np.float32))
    return [k, n] if ta else [n, k], lambda x: tf.linalg.matmul(x, weights, transpose_a=ta, transpose_b=tb)


LINEAR_BUILDERS: dict[str, Builder] = {"Conv2D": _conv2d, "DepthwiseConv2dNative": _depthwise, "MatMul": _matmul}


def _activate(y: Any, pattern: Pattern, rng: np.random.Generator) -> Any:
    """The TF activation ops the passes fuse: the TF op of ``fuse.ACTIVATIONS``, or Keras's PReLU lowering."""
    import tensorflow as tf

    from tfjs_build.convert.graph.passes import fuse, prelu

    name = pattern.fusion.activation
    if name == prelu.PRELU:
        position = {"H": -3, "W": -2, "C": -1}
        size = [1 if d == "1" else int(y.shape[position[d]]) for d in pattern.alpha.split(", ")]
        alpha = rng.uniform(0.05, 0.6, size=size).astype(np.float32)
        return tf.nn.relu(y) + tf.constant(-alpha) * tf.nn.relu(-y)
    if name == fs.NO_ACTIVATION:
        return y
    (tf_op,) = [op for op, tfjs_name in fuse.ACTIVATIONS.items() if tfjs_name == name]
    if tf_op == "LeakyRelu":  # a non-default alpha: TF.js's default (0.2) must not pass by accident
        return raw_op(tf_op, y, alpha=float(np.round(rng.uniform(0.05, 0.15), 2)))
    return raw_op(tf_op, y)


def _sample(pattern: Pattern, rng: np.random.Generator) -> Sample:
    """One instance of ``pattern``: its input and its function, with shapes and weights from ``rng``."""
    import tensorflow as tf

    from tfjs_build.convert.graph.passes import fuse

    (tf_op,) = [op for op, fused in fuse.FUSED_OP.items() if fused == pattern.fusion.op]
    shape, linear = LINEAR_BUILDERS[tf_op](rng, pattern.variant, pattern.fusion.traits)
    x = rng.normal(size=shape).astype(np.float32)
    channels = int(linear(x).shape[-1])
    bias = tf.constant(rng.normal(size=channels).astype(np.float32))
    shift = tf.constant(rng.normal(size=shape[-1]).astype(np.float32))
    activation_rng = np.random.default_rng(rng.integers(1 << 31))

    def fn(t: Any) -> Any:
        y = linear(t + shift)  # the input made by an op, as inside a network (see VARIANTS)
        return _activate(tf.nn.bias_add(y, bias) if pattern.fusion.bias else y, pattern, activation_rng)

    return [x], fn


def build(pattern: Pattern, seed: int) -> Case:
    """``pattern`` as one graph of SAMPLES independent instances (a random test proves more with more draws)."""
    return freeze_case(pattern.name, [_sample(pattern, pattern.rng(seed, i)) for i in range(SAMPLES)])


def _check_emitted(pattern: Pattern, model_json: Path) -> None:
    """Every fused node must be the pattern's fusion, or the builder and the fusion passes disagree."""
    data = json.loads(model_json.read_text(encoding="utf-8"))
    shapes = {w["name"]: w["shape"] for group in data["weightsManifest"] for w in group["weights"]}
    found = [f for f in (fs.node_fusion(n, shapes) for n in data["modelTopology"]["node"]) if f is not None]
    if found != [pattern.fusion] * SAMPLES:
        ops = [n["op"] for n in data["modelTopology"]["node"]]
        raise SystemExit(f"pattern {pattern.name} converted to {[f.key for f in found]} (ops {ops}), "
                         "not to its fusion: the pattern builder and the fusion passes disagree")


def measure(patterns: Sequence[Pattern], backends: Sequence[str], seed: int = SEED) -> dict[str, list[Verdict]]:
    """Backend -> the verdict of each pattern (in order), converted trusting every fusion so each is emitted."""
    trusted = fs.FusionTable.assume_proven((p.fusion for p in patterns), BACKENDS, TFJS_VERSION)
    with TemporaryDirectory(prefix="tfjs-fusion-matrix-") as tmp, fs.override(trusted):
        converted = []
        for i, pattern in enumerate(patterns):
            converted.append(convert_case(build(pattern, seed), Path(tmp) / f"p{i}", BACKENDS))
            _check_emitted(pattern, converted[-1].out_dir / "model.json")
        return run_converted(converted, backends)  # type: ignore[return-value]  (every case runs everywhere)


def table_entries(patterns: Sequence[Pattern], verdicts: Sequence[Verdict]) -> dict[str, Verdict]:
    """Fusion key -> None (proven: every pattern matched) or why not, naming the failing patterns
    unless the reason is the same for all of them."""
    by_key: dict[str, list[tuple[Pattern, Verdict]]] = {}
    for pattern, found in zip(patterns, verdicts, strict=True):
        by_key.setdefault(pattern.fusion.key, []).append((pattern, found))
    entries: dict[str, Verdict] = {}
    for key, results in by_key.items():
        reasons: dict[str, list[str]] = {}
        for pattern, found in results:
            if found is not None:
                reasons.setdefault(found, []).append(pattern.detail)
        if len(reasons) == 1 and len(next(iter(reasons.values()))) == len(results):
            entries[key] = next(iter(reasons))
        else:
            entries[key] = "; ".join(f"{' and '.join(d for d in details if d)}: {why}".lstrip(": ")
                                     for why, details in reasons.items()) or None
    return entries


def table(patterns: Sequence[Pattern], measured: dict[str, list[Verdict]], seed: int = SEED) -> dict[str, Any]:
    backends = {}
    for backend, verdicts in sorted(measured.items()):
        entries = table_entries(patterns, verdicts)
        backends[backend] = {
            "proven": sorted(key for key, why in entries.items() if why is None),
            "failed": {key: why for key, why in sorted(entries.items()) if why is not None},
        }
    return {
        "tfjs_version": TFJS_VERSION,
        "generated_by": "scripts/gen_fusion_support.py",
        "seed": seed,
        "rule": f"proven: every pattern gives |tfjs - tf| <= {TOLERANCE:g} * (1 + max|tf|)",
        "backends": backends,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(list(argv) if argv is not None else None)
    patterns = all_patterns()
    data = table(patterns, measure(patterns, BACKENDS, args.seed), args.seed)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(render(data), encoding="utf-8")
    os.replace(tmp, args.output)
    failed = sum(len(entry["failed"]) for entry in data["backends"].values())
    print(f"wrote {args.output}: {len(patterns)} patterns on {', '.join(BACKENDS)}, {failed} fusion/backend pairs failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
