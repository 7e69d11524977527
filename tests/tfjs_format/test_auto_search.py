"""The ``quantize: auto`` search on a numpy model (a stand-in for TensorFlow: a three-layer MLP
evaluated with numpy), so its decisions can be checked exactly and quickly: every result passes
the gate, is smaller than the fixed settings it must beat, and is the same on every run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.checks.accuracy import compare_outputs
from tfjs_build.convert.auto_quantize import (
    BYTES,
    Measured,
    choose_dtypes,
    mean_squared_difference,
    quantized_values,
)
from tfjs_build.tfjs_format.weights import write_weights

RNG = np.random.default_rng(8)
WEIGHTS = {
    "l1/kernel": (RNG.standard_normal((32, 200)) * 0.2).astype(np.float32),
    "l1/bias": (RNG.standard_normal(200) * 0.1).astype(np.float32),
    "l2/kernel": (RNG.standard_normal((200, 160)) * 0.08).astype(np.float32),
    "l2/bias": (RNG.standard_normal(160) * 0.1).astype(np.float32),
    "l3/kernel": (RNG.standard_normal((160, 10)) * 0.1).astype(np.float32),
    "l3/bias": np.zeros(10, np.float32),  # exact at any dtype
}
WEIGHTS["l1/kernel"][0, 0] = 6.0  # an outlier: uint8's step is coarse for this one, and it is small
SAMPLES = [{"x": RNG.standard_normal((1, 32)).astype(np.float32)} for _ in range(6)]


def _forward(weights: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    h = np.maximum(x @ weights["l1/kernel"] + weights["l1/bias"], 0)
    h = np.maximum(h @ weights["l2/kernel"] + weights["l2/bias"], 0)
    out = h @ weights["l3/kernel"] + weights["l3/bias"]
    return out * (4 * weights["l4/kernel"].mean()) if "l4/kernel" in weights else out


class StandIn:
    """Evaluate for the numpy MLP; counts the samples it ran."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self.weights = dict(weights)
        self.reference = self.outputs({}, None)
        self.samples_run = 0

    def outputs(self, values: Mapping[str, np.ndarray], count: int | None) -> list[dict[str, np.ndarray]]:
        merged = {**self.weights, **values}
        return [{"y": _forward(merged, sample["x"])} for sample in SAMPLES[:count]]

    def __call__(self, values: Mapping[str, np.ndarray], count: int | None) -> Measured:
        got = self.outputs(values, count)
        self.samples_run += len(got)
        ref = self.reference[:count]
        return Measured(compare_outputs(ref, got), mean_squared_difference(ref, got))


def _error(dtypes: Mapping[str, str], weights: Mapping[str, np.ndarray] = WEIGHTS) -> float:
    """The gate's figure for a dtype choice, computed afresh."""
    stand_in = StandIn(weights)
    values = {n: quantized_values(weights[n], d, n) for n, d in dtypes.items() if d != "float32"}
    return compare_outputs(stand_in.reference, stand_in.outputs(values, None)).max_abs_error


def _bytes(dtypes: Mapping[str, str]) -> int:
    return sum(BYTES[dtype] * WEIGHTS[name].size for name, dtype in dtypes.items())


def test_quantized_values_are_what_tfjs_decodes_from_the_written_shards(tmp_path: Path) -> None:
    for dtype in ("uint8", "uint16", "float16"):
        written = write_weights([list(WEIGHTS.items())], tmp_path / dtype, shard_size=4096,
                                quantize=dict.fromkeys(WEIGHTS, dtype))
        for name, decoded in written.dequantized().items():
            assert quantized_values(WEIGHTS[name], dtype, name).tobytes() == decoded.tobytes(), (name, dtype)


def test_a_loose_limit_takes_uint8_everywhere_in_one_run() -> None:
    uint8 = _error(dict.fromkeys(WEIGHTS, "uint8"))
    choice = choose_dtypes(WEIGHTS, StandIn(WEIGHTS), uint8 * 1.01)
    assert set(choice.dtypes.values()) == {"uint8"} and choice.runs == 1
    assert choice.figures is not None and choice.figures.max_abs_error == uint8


def test_a_tight_limit_passes_and_beats_float16_deterministically() -> None:
    uint8, float16 = _error(dict.fromkeys(WEIGHTS, "uint8")), _error(dict.fromkeys(WEIGHTS, "float16"))
    assert float16 < uint8 / 20  # the limit below lies well between them
    limit = uint8 / 4
    stand_in = StandIn(WEIGHTS)
    choice = choose_dtypes(WEIGHTS, stand_in, limit)
    assert choice.dtypes == choose_dtypes(WEIGHTS, StandIn(WEIGHTS), limit).dtypes  # same input, same choice
    assert choice.figures is not None and choice.figures.max_abs_error == _error(choice.dtypes) <= limit
    assert choice.dtypes["l2/kernel"] == "uint8" and choice.dtypes["l1/kernel"] != "uint8"
    assert _bytes(choice.dtypes) < 0.75 * _bytes(dict.fromkeys(WEIGHTS, "float16"))
    # cost: one run per unit on 2 samples, the rest on all 6, never one per weight per dtype per sample
    assert stand_in.samples_run <= 6 * (1 + 10 + 8) + 2 * len(WEIGHTS)


def test_limit_zero_keeps_every_inexact_weight_float32() -> None:
    weights = {**WEIGHTS, "l4/kernel": np.full((64, 64), 0.25, np.float32)}  # large and constant: exact as uint8
    choice = choose_dtypes(weights, StandIn(weights), 0.0)
    assert choice.dtypes["l4/kernel"] == "uint8"
    assert all(dtype == "float32" for name, dtype in choice.dtypes.items() if name != "l4/kernel")
    assert _error(choice.dtypes, weights) == 0.0


def test_weights_that_cannot_be_quantized_stay_float32() -> None:
    weights = {**WEIGHTS, "l1/bias": WEIGHTS["l1/bias"].copy()}
    weights["l1/bias"][3] = np.nan
    weights["l2/bias"] = weights["l2/bias"] * 1e6  # beyond float16's range
    stand_in = StandIn({**weights, "l1/bias": np.nan_to_num(weights["l1/bias"])})
    choice = choose_dtypes(weights, stand_in, _error(dict.fromkeys(WEIGHTS, "uint8")) / 4)
    assert choice.dtypes["l1/bias"] == "float32"
    assert choice.dtypes["l2/bias"] != "float16"


@pytest.mark.parametrize("limit_share", [0.5, 0.2, 0.05])
def test_never_larger_than_the_smallest_passing_fixed_dtype(limit_share: float) -> None:
    limit = _error(dict.fromkeys(WEIGHTS, "uint8")) * limit_share
    choice = choose_dtypes(WEIGHTS, StandIn(WEIGHTS), limit)
    assert _error(choice.dtypes) <= limit
    passing = [dtype for dtype in ("uint8", "uint16", "float16") if _error(dict.fromkeys(WEIGHTS, dtype)) <= limit]
    fixed = [_bytes(dict.fromkeys(WEIGHTS, dtype)) for dtype in (*passing, "float32")]
    assert _bytes(choice.dtypes) <= min(fixed)
