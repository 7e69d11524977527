"""Decode an 8-bit RGB/RGBA PNG (what Chromium screenshots are) into a numpy array, stdlib + numpy only."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def read_png(path: Path) -> np.ndarray:
    """(height, width, 3) uint8 RGB; raises on PNG kinds a screenshot never has."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unsupported PNG: {header}"
    channels = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    return _unfilter(raw, width * channels, channels).reshape(height, width, channels)[:, :, :3]


def _unfilter(raw: np.ndarray, stride: int, bpp: int) -> np.ndarray:
    out = np.zeros((raw.shape[0], stride), np.int32)
    previous = np.zeros(stride, np.int32)
    for y, (kind, line) in enumerate(zip(raw[:, 0], raw[:, 1:].astype(np.int32), strict=True)):
        row = line.copy()
        if kind == 2:
            row = (row + previous) & 0xFF
        elif kind in (1, 3, 4):  # these depend on the bytes to the left: byte by byte
            for x in range(stride):
                left = row[x - bpp] if x >= bpp else 0
                up, corner = previous[x], (previous[x - bpp] if x >= bpp else 0)
                if kind == 1:
                    row[x] = (row[x] + left) & 0xFF
                elif kind == 3:
                    row[x] = (row[x] + (left + up) // 2) & 0xFF
                else:
                    row[x] = (row[x] + _paeth(left, up, corner)) & 0xFF
        out[y] = previous = row
    return out.astype(np.uint8)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
