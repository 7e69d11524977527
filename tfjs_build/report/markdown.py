"""GitHub-flavoured markdown for a PR comment or a job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from tfjs_build.report.cells import headers, rows, summary
from tfjs_build.report.layers import layer_changes
from tfjs_build.report.record import ModelReport, Report
from tfjs_build.units import format_size, format_size_delta

MAX_LAYERS = 10  # per model: the layers whose bytes changed most

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
    for model in report.models:
        lines += _layer_changes(model)
    if report.failures:
        lines += ["", "**Failures**", ""] + [f"- {_escape(message)}" for message in report.failures]
    notes = report.notes + tuple(n for model in report.models for n in model.notes)
    if notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {_escape(n)}" for n in notes]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _layer_changes(model: ModelReport) -> list[str]:
    """A collapsed table of the layers that grew or shrank most, so a reviewer sees why."""
    changes = layer_changes(model.weights, model.base_weights) if model.figures and model.base else []
    if not changes:
        return []
    shown = changes[:MAX_LAYERS]
    more = f", top {len(shown)} of {len(changes)}" if len(changes) > len(shown) else ""
    lines = ["", f"<details><summary>{model.name}: layers that changed{more}</summary>", "",
             "| Layer | Before | After | Change |", "|:---|---:|---:|---:|"]
    lines += [f"| `{_escape(layer)}` | {format_size(before)} | {format_size(after)} | "
              f"{format_size_delta(after - before)} |" for layer, before, after in shown]
    return lines + ["", "</details>"]
