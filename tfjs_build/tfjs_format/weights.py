"""Weight shards and model.json, written the way TF.js reads them (numpy only).

Each group's weights go, in the order given, into content-named shards cut between
weights (``shards.py``: a changed weight rewrites only its own shards). Weights are
written one at a time, and converted or quantized in small chunks, so peak memory stays
near the largest weight rather than the model.

Dtypes are narrowed to what TF.js decodes (float32, int32, bool, complex64, string):
float64/float16/bfloat16 -> float32, small integers -> int32, int64/uint32/uint64 ->
int32 after checking every value fits, complex128 -> complex64. Strings are, per
element, a little-endian uint32 byte length followed by the UTF-8 bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from tfjs_build.convert.result import DtypeBytes, WeightInfo
from tfjs_build.errors import TfjsBuildError, UnsupportedModelError
from tfjs_build.tfjs_format.quantize import (
    Quantization,
    dequantize,
    plan_quantization,
    quantization_from_manifest,
    quantize_chunks,
)
from tfjs_build.tfjs_format.shards import ShardReader, ShardWriter
from tfjs_build.util.atomic import atomic_write_text

MODEL_JSON = "model.json"
STRING_LENGTH = np.dtype("<u4")
CHUNK_ELEMENTS = 1 << 18
STRING_FLUSH_BYTES = 1 << 20
INT32 = np.iinfo(np.int32)
# Stored TF.js dtype -> little-endian numpy dtype.
TFJS_DTYPES = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("bool"),
    "complex64": np.dtype("<c8"),
    "uint8": np.dtype("<u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}
_NO_QUANTIZATION: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class WrittenWeights:
    """What ``write_weights`` wrote: the manifest for model.json and per-weight records."""

    manifest: list[dict[str, Any]]
    weights: tuple[WeightInfo, ...]
    quantization: dict[str, DtypeBytes]  # TF.js dtype before quantization -> bytes before/after
    out_dir: Path
    quantized: tuple[str, ...]  # names of the weights stored quantized

    def dequantized(self) -> dict[str, np.ndarray]:
        """The quantized weights as TF.js will decode them, read back from the shards.

        For the accuracy gate: substitute these into the float model to get TF.js's values.
        """
        wanted = set(self.quantized)
        if not wanted:
            return {}
        return {name: value for name, value in read_weights(self.out_dir, self.manifest) if name in wanted}


def write_weights(
    groups: Sequence[Iterable[tuple[str, np.ndarray]]],
    out_dir: Path,
    *,
    shard_size: int,
    quantize: Mapping[str, str] = _NO_QUANTIZATION,
    where: str = "",
) -> WrittenWeights:
    """Write each group as one manifest entry with its own shards in ``out_dir``.

    ``quantize`` maps weight names to uint8/uint16/float16; only float32 weights (after
    narrowing) are quantized, others are written as they are. Raises TfjsBuildError for
    values TF.js cannot hold (int64 overflow, NaN/Infinity in a weight to quantize),
    its message prefixed with ``where`` (e.g. ``model.where()``: file:line:col and model).
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    try:
        return _write_groups(groups, out_dir, shard_size, quantize)
    except TfjsBuildError as exc:
        if not where:
            raise
        raise type(exc)(f"{where}: {exc}") from None


def _write_groups(
    groups: Sequence[Iterable[tuple[str, np.ndarray]]], out_dir: Path, shard_size: int, quantize: Mapping[str, str]
) -> WrittenWeights:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: list[dict[str, Any]] = []
    infos: list[WeightInfo] = []
    totals: dict[str, list[int]] = {}
    quantized: list[str] = []
    seen: set[str] = set()
    for group in groups:
        entries = []
        with ShardWriter(out_dir, shard_size) as shards:
            for name, value in group:
                if name in seen:
                    raise ValueError(f"duplicate weight name {name!r}")
                seen.add(name)
                entry, info, before = _write_weight(name, np.asarray(value), quantize.get(name), shards)
                del value  # let a lazy group free this weight before it makes the next one
                entries.append(entry)
                infos.append(info)
                sums = totals.setdefault(entry["dtype"], [0, 0])
                sums[0] += before
                sums[1] += info.nbytes
                if "quantization" in entry:
                    quantized.append(name)
            paths = shards.finish()
        manifest.append({"paths": paths, "weights": entries})
    return WrittenWeights(
        manifest=manifest,
        weights=tuple(infos),
        quantization={dtype: DtypeBytes(before, after) for dtype, (before, after) in sorted(totals.items())},
        out_dir=out_dir,
        quantized=tuple(quantized),
    )


def write_model_json(out_dir: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as compact, deterministic model.json (atomically); keys keep their order.

    NaN and Infinity are invalid JSON that browsers reject: they raise TfjsBuildError
    naming the key instead.
    """
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_plain)
    except ValueError:
        key, value = _non_finite(data, "")
        raise TfjsBuildError(
            f"model.json would hold {value} at {key}; JSON has no NaN or Infinity and TF.js "
            "cannot load such a file: replace the value (check the metadata files and weights)"
        ) from None
    path = out_dir / MODEL_JSON
    atomic_write_text(path, text)
    return path


def read_weights(out_dir: Path, manifest: list[dict[str, Any]]) -> Iterator[tuple[str, np.ndarray]]:
    """Decode the written weights as TF.js does: quantized ones dequantized to float32,
    complex64 as complex, strings as an object array of bytes."""
    for group in manifest:
        stream = ShardReader([out_dir / path for path in group["paths"]])
        try:
            for spec in group["weights"]:
                yield spec["name"], _read_weight(stream, spec)
        finally:
            stream.close()


# ---------------------------------------------------------------- writing one weight


def _write_weight(
    name: str, value: np.ndarray, quantize: str | None, sink: ShardWriter
) -> tuple[dict[str, Any], WeightInfo, int]:
    """Write one weight; return its manifest entry, its record and its unquantized size."""
    shape = tuple(int(dim) for dim in value.shape)
    entry: dict[str, Any] = {"name": name, "shape": list(shape)}
    if value.dtype.kind in "OSU":
        entry["dtype"] = "string"
        nbytes = _write_strings(name, value, sink)
        return entry, WeightInfo(name, shape, "string", nbytes, _group_of(name)), nbytes
    tfjs_dtype = _tfjs_dtype(name, value)
    entry["dtype"] = tfjs_dtype
    flat = value.reshape(-1)
    before = flat.size * TFJS_DTYPES[tfjs_dtype].itemsize
    if quantize and tfjs_dtype == "float32" and flat.size:
        flat32 = flat if flat.dtype == TFJS_DTYPES["float32"] else flat.astype(TFJS_DTYPES["float32"])
        q = plan_quantization(flat32, quantize, name)
        sink.start_weight(flat.size * TFJS_DTYPES[q.dtype].itemsize)
        for chunk in quantize_chunks(flat32, q):
            sink.write(chunk)
        entry["quantization"] = q.manifest_entry()
        stored = q.dtype
    else:
        sink.start_weight(before)
        _write_converted(flat, TFJS_DTYPES[tfjs_dtype], sink)
        stored = tfjs_dtype
    nbytes = flat.size * TFJS_DTYPES[stored].itemsize
    return entry, WeightInfo(name, shape, stored, nbytes, _group_of(name)), before


def _tfjs_dtype(name: str, value: np.ndarray) -> str:
    """The TF.js dtype ``value`` is stored as, checking that integers fit int32."""
    dtype = value.dtype
    if dtype.kind == "b":
        return "bool"
    if dtype.kind == "c":
        return "complex64"
    if dtype.kind == "f" or dtype.name == "bfloat16":
        return "float32"
    if dtype.kind in "iu":
        if dtype.itemsize >= 4 and value.size and dtype != np.dtype("int32"):
            lo, hi = int(value.min()), int(value.max())
            if lo < INT32.min or hi > INT32.max:
                raise UnsupportedModelError(
                    f"weight {name!r} ({dtype.name}) holds values from {lo} to {hi}, outside the int32 "
                    f"range [{INT32.min}, {INT32.max}] that TF.js supports (it has no 64-bit integers); "
                    "keep the constant within int32 in the source model"
                )
        return "int32"
    raise UnsupportedModelError(
        f"weight {name!r} has dtype {dtype.name}, which TF.js cannot store "
        "(it reads float32, int32, bool, complex64 and string weights)"
    )


def _write_converted(flat: np.ndarray, target: np.dtype, sink: ShardWriter) -> None:
    if flat.dtype == target and flat.flags.c_contiguous:
        sink.write(flat)
        return
    for start in range(0, flat.size, CHUNK_ELEMENTS):
        sink.write(flat[start:start + CHUNK_ELEMENTS].astype(target))


def _write_strings(name: str, value: np.ndarray, sink: ShardWriter) -> int:
    """Write each element as uint32 length + UTF-8 bytes; return the bytes written."""
    items = [_string_bytes(name, item) for item in value.reshape(-1).tolist()]
    total = sum(STRING_LENGTH.itemsize + len(item) for item in items)
    sink.start_weight(total)
    buffer = bytearray()
    for item in items:
        buffer += np.array(len(item), STRING_LENGTH).tobytes()
        buffer += item
        if len(buffer) >= STRING_FLUSH_BYTES:
            sink.write(buffer)
            buffer = bytearray()
    sink.write(buffer)
    return total


def _string_bytes(name: str, item: object) -> bytes:
    if isinstance(item, str):
        return item.encode("utf-8")
    if not isinstance(item, (bytes, bytearray)):
        raise UnsupportedModelError(
            f"weight {name!r} is a string tensor holding a {type(item).__name__}; "
            "TF.js string weights hold only text or bytes"
        )
    return bytes(item)


def _group_of(name: str) -> str:
    """The layer (name prefix) a weight belongs to, for "where do the bytes go"."""
    return name.rpartition("/")[0] or name


def _plain(value: object) -> object:
    """JSON for numpy scalars and arrays callers may pass in model.json data."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _non_finite(data: object, key: str) -> tuple[str, float]:
    """The first ``key.path[i]`` in ``data`` whose value is NaN or infinite."""
    if isinstance(data, np.generic | np.ndarray):
        data = _plain(data)
    if isinstance(data, float) and not math.isfinite(data):
        return key or "<top level>", data
    children: Iterable[tuple[str, object]] = ()
    if isinstance(data, dict):
        children = ((f"{key}.{k}" if key else str(k), v) for k, v in data.items())
    elif isinstance(data, (list, tuple)):
        children = ((f"{key}[{i}]", v) for i, v in enumerate(data))
    for child_key, child in children:
        found = _non_finite(child, child_key)
        if found[0]:
            return found
    return "", 0.0


# ---------------------------------------------------------------- reading back


def _read_weight(stream: ShardReader, spec: dict[str, Any]) -> np.ndarray:
    shape = tuple(spec["shape"])
    count = math.prod(shape)
    if spec["dtype"] == "string":
        items = []
        for _ in range(count):
            length = int(np.frombuffer(stream.read(4), STRING_LENGTH)[0])
            items.append(stream.read(length))
        strings = np.empty(count, dtype=object)
        strings[:] = items
        return strings.reshape(shape)
    if "quantization" in spec:
        q: Quantization = quantization_from_manifest(spec["quantization"])
        dtype = TFJS_DTYPES[q.dtype]
        stored = np.frombuffer(stream.read(count * dtype.itemsize), dtype)
        return dequantize(stored, q).reshape(shape)
    dtype = TFJS_DTYPES[spec["dtype"]]
    return np.frombuffer(stream.read(count * dtype.itemsize), dtype).reshape(shape).copy()
