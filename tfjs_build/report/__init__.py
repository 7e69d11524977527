"""Reports of ``check`` and ``diff``: one record (record.py), several renderers of it."""

from __future__ import annotations

import json

from tfjs_build.report.record import Figures, ModelReport, Report, Unsupported

__all__ = ["Figures", "ModelReport", "Report", "Unsupported", "render_json"]


def render_json(report: Report) -> str:
    """Stable JSON (sorted keys) for scripts and CI steps."""
    return json.dumps(report.to_json(), indent=2, sort_keys=True, allow_nan=False) + "\n"
