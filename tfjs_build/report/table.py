"""The terminal table: aligned columns, status in colour when the console has colour."""

from __future__ import annotations

from tfjs_build.report.cells import headers, rows, summary
from tfjs_build.report.record import Report
from tfjs_build.terminal import Console

_STYLE = {"ok": "green", "FAIL": "red", "added": "green", "removed": "yellow", "changed": "blue", "same": "dim"}
# Shown only for the failures they fit; the others (never built, outputs not as locked, no accuracy
# figures) already name their fix in their own message.
FIX_HINTS = {
    "budget": "to fix a budget: shrink the model (quantize:, fewer weights) or raise the limit at the tfjs.yaml line shown",
    "accuracy": "to fix accuracy: quantize less (float16, or fewer weights via a quantize: map) or raise accuracy.max_error",
    "ops": "to fix op support: drop the backend from backends: or avoid the op",
}


def fix_hints(report: Report) -> list[str]:
    failing = {"accuracy" if line.budget == "accuracy" else "budget"
               for model in report.models for line in model.budgets if not line.ok}
    if any(model.unsupported for model in report.models):
        failing.add("ops")
    return [hint for kind, hint in FIX_HINTS.items() if kind in failing]


def render_console(report: Report, console: Console) -> None:
    table = [headers(report)] + [(row.name, *row.cells, row.status) for row in rows(report)]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for number, line in enumerate(table):
        padded = [cell.ljust(width) if i == 0 else cell.rjust(width)
                  for i, (cell, width) in enumerate(zip(line[:-1], widths, strict=False))]
        state = line[-1]
        if number == 0:
            console.out(console.paint("  ".join(padded + [state]), "bold"))
        else:
            console.out("  ".join(padded + [console.paint(state, _STYLE[state])]))
    for note in report.notes + tuple(n for model in report.models for n in model.notes):
        console.info(console.paint(f"note: {note}", "yellow"))
    for message in report.failures:
        console.out(console.paint("FAIL ", "red") + message)
    console.out(console.paint(summary(report), "green" if report.ok else "red"))
    for hint in fix_hints(report):
        console.out(hint)
