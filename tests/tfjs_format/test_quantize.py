"""Quantization as TF.js dequantizes it, its edge cases, and glob resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfjs_build.config import Quantize
from tfjs_build.convert.result import DtypeBytes
from tfjs_build.errors import ConfigError, TfjsBuildError
from tfjs_build.tfjs_format.quantize import (
    dequantize,
    plan_quantization,
    quantize_chunks,
    resolve_quantization,
    specificity,
)
from tfjs_build.tfjs_format.weights import write_weights

from .decoder import decode

RNG = np.random.default_rng(11)
CASES = {
    "mixed": RNG.standard_normal((17, 9)).astype(np.float32),
    "with_zeros": np.array([-0.7, 0.0, 0.0, 0.25, 1.3, -0.0], np.float32),
    "all_negative": -np.abs(RNG.standard_normal(50)).astype(np.float32) - 0.5,
    "all_positive": np.abs(RNG.standard_normal(50)).astype(np.float32) + 2.0,
    "huge_range": np.array([-1e38, 0.0, 1e30, 3e38], np.float32),
    "float32_max": np.array([0.0, 1.0, np.finfo(np.float32).max], np.float32),
    "subnormal": np.array([1e-45, 2e-45, 3e-45, 1e-44], np.float32),
    "tiny_spread": np.array([1000.0, np.nextafter(np.float32(1000.0), np.float32(2000))], np.float32),
    "single": np.array([[-2.5]], np.float32),
    "constant": np.full((3, 4), 0.125, np.float32),
    "constant_zero": np.zeros(5, np.float32),
}


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("case", list(CASES))
def test_affine_quantization_decodes_bit_exact_and_within_half_a_step(tmp_path: Path, dtype: str, case: str) -> None:
    x = CASES[case]
    written = write_weights([[(case, x)]], tmp_path, shard_size=16, quantize={case: dtype})
    spec = written.manifest[0]["weights"][0]
    q = spec["quantization"]
    assert list(q) == ["dtype", "min", "scale", "original_dtype"]
    assert (q["dtype"], q["original_dtype"], spec["dtype"]) == (dtype, "float32", "float32")
    assert all(np.isfinite([q["min"], q["scale"]])) and q["scale"] > 0
    tfjs_like = decode(tmp_path, written.manifest)[case]  # element by element, as JavaScript does
    ours = written.dequantized()[case]
    assert ours.dtype == np.float32 and ours.tobytes() == tfjs_like.tobytes()
    assert np.all(np.isfinite(ours))
    error = np.abs(ours.astype(np.float64) - x.astype(np.float64))
    float32_rounding = (np.abs(x).astype(np.float64) + q["scale"]) * 2**-23 + 2**-149
    slack = 1e-4 if dtype == "uint8" else 0.02  # levels are chosen in float32 arithmetic
    bound = q["scale"] * (0.5 + slack) + float32_rounding
    assert np.all(error <= bound), f"worst error {error.max()} for scale {q['scale']}"
    stored = np.frombuffer(b"".join((tmp_path / p).read_bytes() for p in written.manifest[0]["paths"]),
                           "<u1" if dtype == "uint8" else "<u2")
    assert stored.size == x.size and written.weights[0].nbytes == stored.nbytes
    if x.min() <= 0 <= x.max():  # zero is exactly representable, and zeros stay zeros
        assert np.all(ours[x == 0] == 0.0)
        zero_level = -q["min"] / q["scale"]
        assert zero_level == round(zero_level)
    if x.min() == x.max():  # constant: all zeros with scale 1, min the value
        assert q["scale"] == 1.0 and q["min"] == float(x.flat[0]) and not stored.any()
        assert np.array_equal(ours, x)


def test_mixed_sign_uses_the_whole_range(tmp_path: Path) -> None:
    x = np.linspace(-1, 3, 1001, dtype=np.float32)
    written = write_weights([[("w", x)]], tmp_path, shard_size=4096, quantize={"w": "uint8"})
    stored = np.frombuffer((tmp_path / written.manifest[0]["paths"][0]).read_bytes(), np.uint8)
    assert stored.min() == 0 and stored.max() == 255
    q = written.manifest[0]["weights"][0]["quantization"]
    assert q["scale"] == pytest.approx(4 / 255, rel=1e-6)


def test_float16_decodes_as_numpy_half_precision(tmp_path: Path) -> None:
    x = np.concatenate([RNG.standard_normal(40).astype(np.float32), np.float32([65504, -65519, 1e-8, 0.0])])
    written = write_weights([[("h", x)]], tmp_path, shard_size=10, quantize={"h": "float16"})
    spec = written.manifest[0]["weights"][0]
    assert spec["quantization"] == {"dtype": "float16", "original_dtype": "float32"}
    decoded = decode(tmp_path, written.manifest)["h"]
    expected = x.astype(np.float16).astype(np.float32)
    assert decoded.tobytes() == expected.tobytes() == written.dequantized()["h"].tobytes()
    assert written.quantization["float32"] == DtypeBytes(before=4 * x.size, after=2 * x.size)


def test_float16_overflow_is_an_error_naming_the_weight(tmp_path: Path) -> None:
    with pytest.raises(TfjsBuildError, match=r"weight 'big' has values up to 65520.*float16's range"):
        write_weights([[("big", np.float32([1.0, -65520.0]))]], tmp_path, shard_size=64, quantize={"big": "float16"})


def test_range_that_would_overflow_float32_is_an_error(tmp_path: Path) -> None:
    x = np.float32([-3.4e38, 3.4e38])
    with pytest.raises(TfjsBuildError, match=r"weight 'edge' spans .*float32's limit for uint8"):
        write_weights([[("edge", x)]], tmp_path, shard_size=64, quantize={"edge": "uint8"})


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinity_is_a_clear_error_and_leaves_no_files(tmp_path: Path, dtype: str, bad: float) -> None:
    x = np.float32([0.5, bad, -1.0])
    groups = [[("fine", np.ones(100, np.float32)), ("dense/kernel", x)]]
    with pytest.raises(TfjsBuildError, match=rf"weight 'dense/kernel' contains NaN or Infinity.*quantized to {dtype}"):
        write_weights(groups, tmp_path, shard_size=64, quantize={"fine": dtype, "dense/kernel": dtype})
    assert list(tmp_path.iterdir()) == []


def test_non_finite_weights_are_fine_when_not_quantized(tmp_path: Path) -> None:
    mask = np.float32([0.0, -np.inf])
    written = write_weights([[("mask", mask)]], tmp_path, shard_size=64, quantize={"other": "uint8"})
    assert np.array_equal(decode(tmp_path, written.manifest)["mask"], mask)


def test_only_float32_weights_are_quantized(tmp_path: Path) -> None:
    groups = [[("ids", np.arange(6, dtype=np.int64)), ("f64", np.linspace(-1, 1, 6)), ("flags", np.ones(2, bool)),
               ("words", np.array(["a"], object)), ("empty", np.zeros(0, np.float32))]]
    quantize = {name: "uint8" for name in ("ids", "f64", "flags", "words", "empty")}
    written = write_weights(groups, tmp_path, shard_size=64, quantize=quantize)
    stored = {w.name: w.dtype for w in written.weights}
    assert stored == {"ids": "int32", "f64": "uint8", "flags": "bool", "words": "string", "empty": "float32"}
    assert written.quantized == ("f64",)
    assert written.quantization["float32"] == DtypeBytes(before=24, after=6)


# ---------------------------------------------------------------- resolve_quantization

WHERE = "tfjs.yaml:7:15: models.net.quantize"
NAMES = ["conv1/kernel", "conv1/bias", "block/conv2/kernel", "dense/kernel", "dense/bias", "embedding/table"]


def _resolve(*patterns: tuple[str, tuple[str, ...]], names: list[str] = NAMES) -> tuple[dict[str, str], list[str]]:
    return resolve_quantization(Quantize(tuple(patterns)), names, WHERE)


def test_one_dtype_for_everything() -> None:
    assert _resolve(("uint8", ("*",))) == ({name: "uint8" for name in NAMES}, [])


def test_no_quantization() -> None:
    assert _resolve() == ({}, [])


def test_more_specific_pattern_wins_whatever_the_order() -> None:
    expected = {name: ("uint8" if name.endswith("/kernel") else "float16") for name in NAMES}
    assert _resolve(("uint8", ("*/kernel",)), ("float16", ("*",))) == (expected, [])
    assert _resolve(("float16", ("*",)), ("uint8", ("*/kernel",))) == (expected, [])


def test_exact_name_beats_glob_and_unmatched_weights_stay_float32() -> None:
    mapping, warnings = _resolve(("uint16", ("dense/kernel",)), ("uint8", ("*kernel",)))
    assert mapping == {"conv1/kernel": "uint8", "block/conv2/kernel": "uint8", "dense/kernel": "uint16"}
    assert warnings == []


def test_star_crosses_slashes() -> None:
    mapping, _ = _resolve(("uint8", ("block*kernel",)))
    assert mapping == {"block/conv2/kernel": "uint8"}


def test_equally_specific_patterns_of_different_dtypes_are_ambiguous() -> None:
    with pytest.raises(ConfigError) as info:
        _resolve(("uint8", ("conv*",)), ("float16", ("*bias",)))
    message = str(info.value)
    assert message.startswith(WHERE + ": weight 'conv1/bias' matches")
    assert "'conv*' (uint8)" in message and "'*bias' (float16)" in message


def test_same_pattern_under_two_dtypes_is_ambiguous() -> None:
    with pytest.raises(ConfigError, match=r"'\*' \(uint8\) and '\*' \(uint16\)"):
        _resolve(("uint8", ("*",)), ("uint16", ("*",)))


def test_equally_specific_patterns_of_one_dtype_are_fine() -> None:
    mapping, _ = _resolve(("uint8", ("conv1*", "*bias")))
    assert mapping["conv1/bias"] == "uint8"


def test_patterns_matching_nothing_are_warnings_with_a_hint() -> None:
    mapping, warnings = _resolve(("uint8", ("*/kernel", "dense/kernal")), ("float16", ("nothing/*",)))
    assert set(mapping) == {"conv1/kernel", "block/conv2/kernel", "dense/kernel"}
    assert warnings == [
        f"{WHERE}: uint8 pattern 'dense/kernal' matches no weight (did you mean 'dense/kernel'?); "
        "weights it was meant for stay float32",
        f"{WHERE}: float16 pattern 'nothing/*' matches no weight; weights it was meant for stay float32",
    ]


def test_specificity_counts_literal_characters() -> None:
    assert [specificity(p) for p in ("*", "*/kernel", "conv?/kernel", "conv[12]/kernel", "a/b")] == [0, 7, 11, 11, 3]


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_random_ranges_never_wrap_and_stay_within_half_a_step(dtype: str) -> None:
    """Many random ranges (nudged or not, tiny to large): the level arithmetic's shortcuts
    (float32, the skipped clamp and correction) never push a value to a wrong level."""
    rng = np.random.default_rng(99)
    slack = 1e-4 if dtype == "uint8" else 0.02
    for _ in range(1500):
        a, b = rng.standard_normal(2) * rng.choice([1e-6, 1e-3, 1.0, 1e3, 1e6])
        x = np.float32([a, b, 0.3 * a + 0.7 * b, 0.0 if rng.random() < 0.3 else a / 3])
        if rng.random() < 0.3:  # a narrow range far from zero: min - scale/2 is inexact in float32
            x = np.float32(a * 1e3 + rng.random(8) * abs(a))
        q = plan_quantization(x, dtype, "w")
        stored = np.concatenate([chunk.copy() for chunk in quantize_chunks(x, q)])
        got = dequantize(stored, q).astype(np.float64)
        output_rounding = np.spacing(np.abs(x)).astype(np.float64) / 2 + np.spacing(np.float32(q.scale))
        excess = (np.abs(got - x) - output_rounding) / q.scale
        assert excess.max() <= 0.5 + slack, (x, q, stored)
