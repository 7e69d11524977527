"""A tiny weights decoder written from TF.js's io_utils rules, independent of tfjs_build.

It concatenates a group's shards in manifest order and decodes weight after weight;
quantized values are dequantized element by element with Python floats (JavaScript
doubles: ``v * scale + min``) and rounded to float32, as ``Float32Array`` does.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

ITEMSIZE = {"float32": 4, "int32": 4, "bool": 1, "complex64": 8, "uint8": 1, "uint16": 2, "float16": 2}
NUMPY = {"float32": "<f4", "int32": "<i4", "bool": "u1", "uint8": "<u1", "uint16": "<u2", "float16": "<f2"}


def decode(out_dir: Path, manifest: list[dict[str, Any]]) -> dict[str, Any]:
    """name -> numpy array (float32/int32/bool/complex64) or list of bytes (strings)."""
    result: dict[str, Any] = {}
    for group in manifest:
        data = b"".join((out_dir / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            value, offset = _decode_one(data, offset, spec)
            result[spec["name"]] = value
        assert offset == len(data), f"{len(data) - offset} bytes left over after the last weight"
    return result


def _decode_one(data: bytes, offset: int, spec: dict[str, Any]) -> tuple[Any, int]:
    size = 1
    for dim in spec["shape"]:
        size *= dim
    if spec["dtype"] == "string":
        items = []
        for _ in range(size):
            (length,) = struct.unpack_from("<I", data, offset)
            items.append(data[offset + 4: offset + 4 + length])
            offset += 4 + length
        return items, offset
    quant = spec.get("quantization")
    stored = quant["dtype"] if quant else spec["dtype"]
    end = offset + size * ITEMSIZE[stored]
    raw = data[offset:end]
    if quant and stored in ("uint8", "uint16"):
        values = np.frombuffer(raw, NUMPY[stored]).tolist()
        floats = [np.float32(v * quant["scale"] + quant["min"]) for v in values]
        return np.array(floats, np.float32).reshape(spec["shape"]), end
    if stored == "complex64":
        pairs = np.frombuffer(raw, "<f4")
        return (pairs[0::2] + 1j * pairs[1::2]).astype(np.complex64).reshape(spec["shape"]), end
    return np.frombuffer(raw, NUMPY[stored]).astype(NUMPY[spec["dtype"]]).reshape(spec["shape"]), end


def weights_by_shard(out_dir: Path, manifest: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Shard path -> names of the weights with bytes in it, in order (from the shard sizes on disk)."""
    holders: dict[str, list[str]] = {}
    for group in manifest:
        data = b"".join((out_dir / path).read_bytes() for path in group["paths"])
        ends, total = [], 0
        for path in group["paths"]:
            total += (out_dir / path).stat().st_size
            ends.append((total, path))
        offset = 0
        for spec in group["weights"]:
            _, end = _decode_one(data, offset, spec)
            for shard_end, path in ends:
                shard_start = shard_end - (out_dir / path).stat().st_size
                if shard_start < end and offset < shard_end:
                    holders.setdefault(path, []).append(spec["name"])
            offset = end
    return holders
