"""GitHub-flavoured markdown for a PR comment or a job summary ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from tfjs_build.report.by_layer import layer_changes
from tfjs_build.report.cells import headers, rows, summary
from tfjs_build.report.latency import markdown_kernels
from tfjs_build.report.record import ModelReport, Report
from tfjs_build.util.units import format_size, format_size_delta

MAX_LAYERS = 10  # per model: the layers whose bytes changed most
MAX_CHARS = 60_000  # a PR comment holds 65,536; layer details are dropped first to fit

_ICON = {"ok": "✅ ok", "FAIL": "❌ fail", "added": "🆕 added", "removed": "🗑️ removed",
         "changed": "✏️ changed", "same": "same"}


def _escape(text: str) -> str:
    """Keep a cell a cell: pipes and newlines would break the table."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    head, tail = _table(report), _tail(report)
    room = MAX_CHARS - sum(len(line) + 1 for line in head + tail)
    details = _fit([d for d in map(_layer_changes, report.models) if d], room, "Layer changes")
    room -= sum(len(line) + 1 for line in details)
    details += _fit([markdown_kernels(model.name, model.bench) for model in report.models if model.bench is not None],
                    room, "Slowest kernels")
    return "\n".join(head + details + tail) + "\n"


def _table(report: Report) -> list[str]:
    title = "tfjs-build check" if report.command == "check" else "tfjs-build diff"
    titles = headers(report)
    lines = [f"### {title}: {summary(report)}", "", "| " + " | ".join(titles) + " |",
             "|:---|" + "---:|" * (len(titles) - 2) + ":---|"]
    for row in rows(report):
        name = f"~~{row.name}~~" if row.status == "removed" else f"`{row.name}`"
        cells = [name, *(_escape(cell) for cell in row.cells), _ICON[row.status]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fit(details: list[list[str]], room: int, what: str) -> list[str]:
    """As many per-model tables as fit in ``room`` characters, then a line saying what was left out."""
    lines: list[str] = []
    for number, detail in enumerate(details):
        size = sum(len(line) + 1 for line in detail)
        if size > room:
            return lines + ["", f"_{what} of {len(details) - number} more models left out to fit a PR comment._"]
        lines += detail
        room -= size
    return lines


def _tail(report: Report) -> list[str]:
    """Failures and notes: always shown, after the table and any layer details."""
    lines: list[str] = []
    if report.failures:
        lines += ["", "**Failures**", ""] + [f"- {_escape(message)}" for message in report.failures]
    notes = report.notes + tuple(n for model in report.models for n in model.notes)
    if notes:
        lines += ["", "<details><summary>Notes</summary>", ""] + [f"- {_escape(n)}" for n in notes]
        lines += ["", "</details>"]
    return lines


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
