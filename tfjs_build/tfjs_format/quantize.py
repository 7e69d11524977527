"""Weight quantization exactly as TF.js dequantizes it, and which weights get which dtype.

TF.js decodes an affine-quantized weight as ``Float32Array[i] = v * scale + min``: the
product and sum are JavaScript doubles, rounded once more when stored as float32.
``dequantize`` does the same arithmetic in float64 and then casts, so numpy and TF.js
agree bit for bit. ``min`` and ``scale`` are Python floats, written to JSON with their
shortest round-trip repr, so the doubles TF.js parses are the doubles computed here.

The affine range follows the reference converter (TF-Lite's nudging): when 0 lies in
[min, max] the range is shifted so that 0 is exactly representable (zero padding must
stay zero), a constant tensor is stored as zeros with ``scale`` 1 and ``min`` = the value.
Each value is stored as its nearest level (ties upwards), chosen in float32 arithmetic for
speed when the range allows (at most 6e-5 of a step off for uint8, 0.016 for uint16; the
dequantization itself is always exact as above). Refused, with the weight's name: NaN or
Infinity, float16 values beyond ±65504, and affine ranges whose levels overflow float32.

Pattern specificity (``resolve_quantization``): a pattern's specificity is the number of
literal (non-wildcard) characters it has; more literal characters win. ``conv1/kernel``
beats ``*/kernel`` beats ``*``. Two patterns of different dtypes matching a weight with
equal specificity are ambiguous and a config error; equal patterns of the same dtype are
harmless. ``*`` matches across ``/`` (fnmatch semantics).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tfjs_build.config import Quantize
from tfjs_build.errors import ConfigError, TfjsBuildError
from tfjs_build.hints import did_you_mean

AFFINE_DTYPES: dict[str, np.dtype] = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2")}
FLOAT16 = np.dtype("<f2")
# Elements per vectorised step: a work buffer of this size stays in L2 cache.
CHUNK = 1 << 16
# The smallest float32 magnitude that float16 rounds to infinity (65504 + half an ulp).
FLOAT16_OVERFLOW = 65520.0
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Steps above FAST_MIN_SCALE and ranges below FAST_MAX_RANGE are computed in float32:
# 1/scale, x - min and the levels all stay finite and normal there, with room to spare.
FAST_MIN_SCALE = 1e-30
FAST_MAX_RANGE = 1e38


@dataclass(frozen=True)
class Quantization:
    """How one weight is stored: ``dtype`` plus affine ``min``/``scale`` (None for float16)."""

    dtype: str
    min: float | None = None
    scale: float | None = None
    high: float | None = None  # the largest source value (not written): spares a clamp pass

    def manifest_entry(self) -> dict[str, object]:
        """The manifest ``quantization`` object, keys in the reference converter's order."""
        entry: dict[str, object] = {"dtype": self.dtype}
        if self.scale is not None:
            entry["min"] = self.min
            entry["scale"] = self.scale
        entry["original_dtype"] = "float32"
        return entry


def plan_quantization(values: np.ndarray, dtype: str, name: str) -> Quantization:
    """Choose the parameters for quantizing the float32 ``values`` of weight ``name``.

    Raises TfjsBuildError for NaN/Infinity, or ranges the target dtype cannot hold.
    """
    lo, hi = _min_max(values)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise TfjsBuildError(
            f"weight {name!r} contains NaN or Infinity (min {lo}, max {hi}), so it cannot be "
            f"quantized to {dtype}; fix the source weights, or exclude {name!r} from `quantize:` "
            "with a more specific pattern"
        )
    if dtype == "float16":
        if max(-lo, hi) >= FLOAT16_OVERFLOW:
            raise TfjsBuildError(
                f"weight {name!r} has values up to {max(-lo, hi):g}, beyond float16's range "
                f"(±65504); quantize it to uint8 or uint16 instead, or exclude it from `quantize:`"
            )
        return Quantization("float16")
    if dtype not in AFFINE_DTYPES:
        raise ValueError(f"unknown quantization dtype {dtype!r}")
    if lo == hi:
        return Quantization(dtype, lo + 0.0, 1.0, hi)
    qmax = float(np.iinfo(AFFINE_DTYPES[dtype]).max)
    scale = (hi - lo) / qmax
    if lo <= 0.0 <= hi:
        lo = -float(np.round(-lo / scale)) * scale + 0.0  # + 0.0 turns -0.0 into 0.0
    if max(abs(lo), abs(qmax * scale + lo)) > FLOAT32_MAX:
        raise TfjsBuildError(
            f"weight {name!r} spans [{float(values.min()):g}, {float(values.max()):g}], too close to "
            f"float32's limit for {dtype}: its dequantized range would overflow; exclude it from "
            "`quantize:` or use float16"
        )
    return Quantization(dtype, lo, scale, hi)


def _min_max(values: np.ndarray) -> tuple[float, float]:
    """min and max (NaN if any is NaN) in one pass: each chunk's max is read from cache."""
    lo, hi = np.float32(np.inf), np.float32(-np.inf)
    for start in range(0, values.size, CHUNK):
        part = values[start:start + CHUNK]
        lo, hi = np.minimum(lo, part.min()), np.maximum(hi, part.max())
    return float(lo), float(hi)


def quantize_chunks(values: np.ndarray, q: Quantization) -> Iterator[np.ndarray]:
    """Yield the stored (little-endian) values of flat float32 ``values``, chunk by chunk.

    Chunked so the work buffer stays small and cache-resident whatever the weight's
    size. Each value goes to the nearest level, ties upwards: ``floor((x - base) / scale
    + c)`` where ``base`` is ``min - scale / 2`` rounded to the work dtype and ``c`` the
    rounding error of ``base`` in steps, skipped when it is below the arithmetic's own
    error (always when 0 is in range: then |base| <= range). The yielded array is
    reused: consume it before the next step.
    """
    if q.dtype == "float16":
        out16 = np.empty(min(CHUNK, values.size), FLOAT16)
        for start in range(0, values.size, CHUNK):
            part = values[start:start + CHUNK]
            view = out16[:part.size]
            view[...] = part
            yield view
        return
    assert q.min is not None and q.scale is not None
    work_dtype = _work_dtype(q)
    qmax = float(np.iinfo(AFFINE_DTYPES[q.dtype]).max)
    lowest = q.min - q.scale / 2  # values from here up to min + scale / 2 go to level 0
    base = work_dtype.type(lowest)
    inverse = work_dtype.type(1.0 / q.scale)
    offset = (float(base) - lowest) / q.scale
    correct = abs(offset) > float(np.finfo(work_dtype).eps) / 2 * (qmax + 1)
    # The arithmetic is monotone, so the largest weight gives the top level; clamp only
    # when it rounds past qmax (a maximum exactly half a step above the nudged range).
    high = values.max() if q.high is None else q.high
    top = (work_dtype.type(high) - base) * inverse + (work_dtype.type(offset) if correct else 0)
    clamp = top >= qmax + 1
    work = np.empty(min(CHUNK, values.size), work_dtype)
    out = np.empty(work.size, AFFINE_DTYPES[q.dtype])
    for start in range(0, values.size, CHUNK):
        part = values[start:start + CHUNK]
        buf = work[:part.size]
        np.subtract(part, base, out=buf)
        np.multiply(buf, inverse, out=buf)
        if correct:
            np.add(buf, offset, out=buf)
        if clamp:
            np.minimum(buf, qmax, out=buf)
        view = out[:part.size]
        view[...] = buf  # truncation; values in (-1, 0) from rounding noise become 0
        yield view


def _work_dtype(q: Quantization) -> np.dtype:
    """float32 arithmetic when the step is ordinary: 2x faster than float64 and at most
    4 * 2**-24 * 2**bits of a step off the nearest level (6e-5 for uint8, 0.016 for
    uint16); float64 near float32's limits, where float32 would overflow or underflow."""
    assert q.scale is not None
    qmax = float(np.iinfo(AFFINE_DTYPES[q.dtype]).max)
    ordinary = FAST_MIN_SCALE < q.scale and q.scale * qmax < FAST_MAX_RANGE
    return np.dtype(np.float32 if ordinary else np.float64)


def dequantize(stored: np.ndarray, q: Quantization) -> np.ndarray:
    """The float32 values TF.js decodes from ``stored`` (bit-exact, see module docstring)."""
    if q.dtype == "float16":
        return stored.astype(np.float32)
    assert q.min is not None and q.scale is not None
    return (stored.astype(np.float64) * q.scale + q.min).astype(np.float32)


def quantization_from_manifest(entry: dict[str, object]) -> Quantization:
    """Read back a manifest ``quantization`` object."""
    dtype = str(entry["dtype"])
    if dtype == "float16":
        return Quantization(dtype)
    return Quantization(dtype, float(entry["min"]), float(entry["scale"]))  # type: ignore[arg-type]


# ---------------------------------------------------------------- which weights, which dtype

_WILDCARD = re.compile(r"\*|\?|\[[^\]]*\]")


def specificity(pattern: str) -> int:
    """How specific a glob is: its number of literal characters (outside ``*``, ``?``, ``[..]``)."""
    return len(_WILDCARD.sub("", pattern))


def resolve_quantization(quantize: Quantize, names: list[str], where: str) -> tuple[dict[str, str], list[str]]:
    """Map each weight name to its quantization dtype; return the map and warnings.

    The most specific matching pattern wins (see ``specificity``); equally specific
    patterns with different dtypes raise ConfigError naming both. Names no pattern
    matches are left out (they stay float32). Patterns that match nothing are warned
    about, so a typo cannot silently disable quantization. ``where`` locates the
    ``quantize:`` key in tfjs.yaml for messages.
    """
    best: dict[str, tuple[int, str, str]] = {}  # name -> (specificity, pattern, dtype)
    warnings = []
    for dtype, patterns in quantize.patterns:
        for pattern in patterns:
            matcher = re.compile(fnmatch.translate(pattern))
            matched = [name for name in names if matcher.match(name)]
            if not matched:
                warnings.append(_unmatched_warning(pattern, dtype, names, where))
            for name in matched:
                _choose(best, name, (specificity(pattern), pattern, dtype), where)
    return {name: dtype for name, (_, _, dtype) in sorted(best.items())}, warnings


def _choose(best: dict[str, tuple[int, str, str]], name: str, candidate: tuple[int, str, str], where: str) -> None:
    current = best.get(name)
    if current is None or candidate[0] > current[0]:
        best[name] = candidate
    elif candidate[0] == current[0] and candidate[2] != current[2]:
        raise ConfigError(
            f"{where}: weight {name!r} matches {current[1]!r} ({current[2]}) and {candidate[1]!r} "
            f"({candidate[2]}) equally specifically ({candidate[0]} literal characters each); "
            f"make one pattern more specific, e.g. list {name!r} under the dtype you want"
        )


def _unmatched_warning(pattern: str, dtype: str, names: list[str], where: str) -> str:
    return (
        f"{where}: {dtype} pattern {pattern!r} matches no weight{did_you_mean(pattern, names)}; "
        "weights it was meant for stay float32"
    )
