"""GitHub Actions annotations: each failure becomes ``::error file=F,line=L,col=C::...`` on tfjs.yaml.

Failure messages start with the ``file:line:col`` of the setting at fault (``ModelConfig.where``),
so the annotation lands on that line of tfjs.yaml in the pull request's diff.
"""

from __future__ import annotations

import re

from tfjs_build.report.record import Report

_WHERE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$", re.DOTALL)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """One ``::error`` line per failure (located when the message names file:line:col), then a notice."""
    lines = []
    for model in report.models:
        for message in model.failures:
            match = _WHERE.match(message)
            title = _property(f"tfjs-build check: {model.name}")
            if match:
                location = (f"file={_property(match['file'])},line={match['line']},col={match['col']},")
                lines.append(f"::error {location}title={title}::{_data(match['rest'])}")
            else:
                lines.append(f"::error title={title}::{_data(message)}")
    failed = sum(not model.ok for model in report.models)
    verdict = f"{failed} of {len(report.models)} models failed" if failed else "all checks passed"
    lines.append(f"::notice title=tfjs-build {report.command}::{_data(verdict)}")
    return "\n".join(lines) + "\n"
