"""GitHub-flavoured markdown for a PR comment or a job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from tfjs_build.report.cells import headers, rows, summary
from tfjs_build.report.record import Report

_ICON = {"ok": "✅ ok", "FAIL": "❌ fail", "added": "🆕 added", "removed": "🗑️ removed",
         "changed": "✏️ changed", "same": "same"}


def _escape(text: str) -> str:
    """Keep a cell a cell: pipes and newlines would break the table."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    title = "tfjs-build check" if report.command == "check" else "tfjs-build diff"
    lines = [f"### {title}: {summary(report)}", ""]
    titles = headers(report)
    lines.append("| " + " | ".join(titles) + " |")
    lines.append("|:---|" + "---:|" * (len(titles) - 2) + ":---|")
    for row in rows(report):
        name = f"~~{row.name}~~" if row.status == "removed" else f"`{row.name}`"
        cells = [name, *(_escape(cell) for cell in row.cells), _ICON[row.status]]
        lines.append("| " + " | ".join(cells) + " |")
    if report.failures:
        lines += ["", "**Failures**", ""] + [f"- {_escape(message)}" for message in report.failures]
    notes = report.notes + tuple(n for model in report.models for n in model.notes)
    if notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {_escape(n)}" for n in notes]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
