"""Byte sizes as users write them in tfjs.yaml ("4MiB", "512 KiB", 1048576) and as we print them."""

from __future__ import annotations

import re

_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
    "k": 1024, "m": 1024**2, "g": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> int:
    """Return a byte count, or raise ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 4MiB or 1048576")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("expected a size >= 0")
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match and match.group(2).lower() in _UNITS:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise ValueError("expected a size such as 4MiB, 512KiB, 5MB or a byte count")


def format_size(n: int | float) -> str:
    """Human-readable decimal size, as CDNs and bundlers report them (1 kB = 1000 B)."""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def format_size_delta(n: int) -> str:
    """A signed, compact size change ("+120 kB", "-1.5 MB", "+0 B"): deltas read best short."""
    sign = "-" if n < 0 else "+"
    value = float(abs(n))
    for unit in ("B", "kB", "MB", "GB"):
        if value < 999.5 or unit == "GB":  # 999999 B is "1 MB", not "1000 kB"
            break
        value /= 1000
    text = f"{value:.0f}" if value >= 100 or unit == "B" else f"{value:.1f}".removesuffix(".0")
    return f"{sign}{text} {unit}"
