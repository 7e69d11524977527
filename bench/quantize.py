"""Benchmark: quantizing float32 weights, against a plain numpy ``astype`` of the same data.

Run by hand: ``.venv/bin/python bench/quantize.py [--mb 500] [--repeats 5]``.

For each target dtype it prints
- throughput ratio = time of ``w.astype(target)`` over every weight / time of
  tfjs-build's quantization (range check + nudged affine or float16 rounding) of the
  same weights (target >= 0.3); medians of interleaved repeats, so load from other
  processes hits both sides alike;
- end-to-end MB/s of ``write_weights`` (quantize + shard files on disk);
- peak RSS above the input during ``write_weights`` (Linux VmHWM, reset before each run
  through /proc/self/clear_refs), to show memory stays near the largest weight.
The input mixes weight sizes like a real model: 10 large, 50 medium, 100 small.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfjs_build.tfjs_format.quantize import plan_quantization, quantize_chunks
from tfjs_build.tfjs_format.weights import write_weights

TARGETS = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
MIX = ((10, 0.50), (50, 0.40), (100, 0.10))  # (count, share of the total bytes)


def make_weights(total_mb: float) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    weights = []
    for count, share in MIX:
        elements = int(total_mb * share * 2**20 / 4 / count)
        for i in range(count):
            scale = 0.01 * (1 + i % 7)
            weights.append((f"w{len(weights)}/kernel", (rng.standard_normal(elements, np.float32) * scale)))
    return weights


def baseline(weights: list[tuple[str, np.ndarray]], target: type) -> None:
    for _, value in weights:
        value.astype(target)


def quantize_only(weights: list[tuple[str, np.ndarray]], dtype: str) -> None:
    for name, value in weights:
        for _ in quantize_chunks(value, plan_quantization(value, dtype, name)):
            pass


def _median_time(run: Callable[[], None], times: list[float]) -> None:
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_above_input(weights: list[tuple[str, np.ndarray]], dtype: str) -> tuple[float, float]:
    """(MB of peak RSS above the RSS before the run, end-to-end seconds) for write_weights."""
    with tempfile.TemporaryDirectory(prefix="bench-quantize-") as out:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
        start = time.perf_counter()
        write_weights([weights], Path(out), shard_size=4 * 2**20, quantize={n: dtype for n, _ in weights})
        seconds = time.perf_counter() - start
        peak = _status_kb("VmHWM")
    return (peak - before) / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=500.0, help="MB of float32 weights (default 500)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    weights = make_weights(args.mb)
    input_mb = sum(v.nbytes for _, v in weights) / 2**20
    largest_mb = max(v.nbytes for _, v in weights) / 2**20
    print(f"input: {len(weights)} float32 weights, {input_mb:.0f} MB, largest {largest_mb:.1f} MB")
    results = {}
    for dtype, target in TARGETS.items():
        rss_mb, e2e = peak_rss_above_input(weights, dtype)
        base_times: list[float] = []
        ours_times: list[float] = []
        for _ in range(args.repeats):
            _median_time(lambda target=target: baseline(weights, target), base_times)
            _median_time(lambda dtype=dtype: quantize_only(weights, dtype), ours_times)
        base, ours = statistics.median(base_times), statistics.median(ours_times)
        results[dtype] = {
            "astype_s": round(base, 4),
            "quantize_s": round(ours, 4),
            "ratio": round(base / ours, 3),
            "write_weights_MBps": round(input_mb / e2e, 1),
            "peak_rss_above_input_MB": round(rss_mb, 1),
        }
        print(f"{dtype:8} astype {base:.3f}s  quantize {ours:.3f}s  ratio {base / ours:.2f} (target >= 0.3)  "
              f"write_weights {input_mb / e2e:.0f} MB/s  peak RSS above input {rss_mb:.1f} MB")
    print(json.dumps({"input_MB": round(input_mb), "largest_MB": round(largest_mb, 1), "results": results}))


if __name__ == "__main__":
    main()
