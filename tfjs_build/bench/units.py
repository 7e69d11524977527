"""Milliseconds as the bench output, check messages and reports print them: three significant figures."""

from __future__ import annotations


def format_ms(ms: float) -> str:
    """0.498 ms, 4.18 ms, 212 ms, 1,802 ms."""
    if ms >= 100:
        return f"{ms:,.0f} ms"
    return f"{ms:.3g} ms" if ms >= 0.01 else f"{ms:.2g} ms"


def format_ms_delta(now: float, base: float) -> str:
    """+0.21 ms, +5.3% (the percentage only against a non-zero base)."""
    percent = f", {(now - base) / base * 100:+.1f}%" if base else ""
    return f"{'+' if now >= base else '-'}{format_ms(abs(now - base))}{percent}"
