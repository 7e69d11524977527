"""A self-contained HTML page: per model, where the bytes go (heaviest layer first) and budget bars.

No scripts, fonts or images from anywhere: CSS bars only, so the page renders offline,
as a CI artifact, and byte-identically for the same report.
"""

from __future__ import annotations

from html import escape

from tfjs_build.bench.record import ModelBench
from tfjs_build.checks.budgets import BudgetLine
from tfjs_build.report.by_layer import Weights, layer_bytes, layer_changes
from tfjs_build.report.cells import headers, rows, summary
from tfjs_build.report.latency import BENCH_HEADERS, bench_cells, kernel_rows
from tfjs_build.report.record import Figures, ModelReport, Report
from tfjs_build.util.units import format_size, format_size_delta

MAX_BARS = 30  # layers drawn one by one; the rest share one bar
COLORS = {"weight": "#2563eb", "ok": "#16a34a", "over": "#dc2626"}

_CSS = f"""
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111; background: #fff; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 18px; margin-top: 28px; }} h3 {{ font-size: 15px; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 3px 10px; border-bottom: 1px solid #ddd; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.status {{ font-weight: bold; }} .st-FAIL {{ color: {COLORS["over"]}; }} .st-ok, .st-added {{ color: {COLORS["ok"]}; }}
.bars {{ display: grid; grid-template-columns: minmax(120px, 26%) 1fr 300px; gap: 4px 10px;
         align-items: center; max-width: 1100px; }}
.label {{ overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: monospace; }}
.track {{ background: #eef0f3; height: 16px; border-radius: 3px; overflow: hidden; }}
.bar {{ height: 100%; }} .bar-weight {{ background: {COLORS["weight"]}; }}
.bar-ok {{ background: {COLORS["ok"]}; }} .bar-over {{ background: {COLORS["over"]}; }}
.value {{ font-variant-numeric: tabular-nums; white-space: nowrap; }}
.failures li {{ color: {COLORS["over"]}; font-family: monospace; }}
"""


def render_html(report: Report) -> str:
    title = f"tfjs-build {report.command}"
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{escape(title)}</h1>", f"<p>{escape(summary(report))}</p>", _overview(report),
    ]
    parts += [_model_section(model) for model in report.models if _has_section(model)]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _overview(report: Report) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(report))
    body = []
    for row, model in zip(rows(report), report.models, strict=True):
        cells = "".join(f'<td class="num">{escape(c)}</td>' for c in row.cells)
        name = f'<a href="#m-{escape(row.name)}">{escape(row.name)}</a>' if _has_section(model) else escape(row.name)
        body.append(f'<tr><td>{name}</td>{cells}'
                    f'<td class="status st-{row.status}">{escape(row.status)}</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _has_section(model: ModelReport) -> bool:
    """Removed models have nothing to show beyond their row."""
    return model.figures is not None or bool(model.failures)


def _model_section(model: ModelReport) -> str:
    state = "ok" if model.ok else "FAIL"
    parts = [f'<section id="m-{escape(model.name)}">',
             f'<h2>{escape(model.name)} <span class="status st-{state}">{state}</span></h2>']
    if model.figures is not None:
        parts.append(f'<p class="figures">{escape(_figures_line(model.figures))}</p>')
    if model.failures:
        items = "".join(f"<li>{escape(message)}</li>" for message in model.failures)
        parts.append(f'<ul class="failures">{items}</ul>')
    if model.budgets:
        parts += ["<h3>Budgets</h3>", '<div class="bars">', *map(_budget_bar, model.budgets), "</div>"]
    if model.weights:
        parts += ["<h3>Where the bytes go (by layer, heaviest first)</h3>", _weight_chart(model.weights)]
    if model.bench is not None:
        parts += ["<h3>Latency (tfjs.bench.json)</h3>", _bench_tables(model.bench)]
    changes = layer_changes(model.weights, model.base_weights) if model.base is not None else []
    if changes:
        parts += ["<h3>Layers that changed against the base</h3>", _changes_table(changes)]
    parts.append("</section>")
    return "\n".join(parts)


def _figures_line(f: Figures) -> str:
    brotli = f" ({format_size(f.transfer_brotli)} brotli)" if f.transfer_brotli is not None else ""
    parts = [format_size(f.size), f"{format_size(f.transfer)} gzip{brotli}",
             f"{f.shards} shard{'s' if f.shards != 1 else ''}", f"{f.params:,} params"]
    if f.max_abs_error is not None:
        accuracy = f"max abs error {f.max_abs_error:.3g}"
        if f.max_rel_error is not None:
            accuracy += f", max rel error {f.max_rel_error:.3g}"
        if f.top1_agreement is not None:
            accuracy += f", top-1 agreement {f.top1_agreement * 100:.1f}%"
        parts.append(accuracy + (f" over {f.samples} samples" if f.samples else ""))
    return " · ".join(parts)


def _bar(label: str, fraction: float, kind: str, value: str, tip: str = "") -> str:
    width = f"{max(0.0, min(fraction, 1.0)) * 100:.2f}%"
    return (f'<span class="label" title="{escape(tip or label)}">{escape(label)}</span>'
            f'<div class="track"><div class="bar bar-{kind}" style="width:{width}"></div></div>'
            f'<span class="value">{escape(value)}</span>')


def _budget_bar(line: BudgetLine) -> str:
    actual, limit = line.shown
    value = f"{actual} of {limit} ({line.used * 100:.0f}%)"
    return _bar(line.label, line.used, "ok" if line.ok else "over", value, line.where)


def _weight_chart(weights: Weights) -> str:
    layers = layer_bytes(weights)
    total = sum(size for _, _, size in layers) or 1
    shown, rest = layers[:MAX_BARS], layers[MAX_BARS:]
    if rest:
        shown.append((f"{len(rest)} more layers", "", sum(size for _, _, size in rest)))
    top = shown[0][2] or 1
    bars = [
        _bar(layer, size / top, "weight", f"{format_size(size)} · {size / total * 100:.1f}%"
             + (f" · {dtypes}" if dtypes else ""))
        for layer, dtypes, size in shown
    ]
    table = "".join(
        f'<tr><td>{escape(name)}</td><td>{escape(dtype)}</td><td class="num">{nbytes:,}</td></tr>'
        for name, dtype, nbytes in weights
    )
    return (f'<div class="bars">{"".join(bars)}</div>'
            f"<details><summary>All {len(weights)} weights, in manifest order</summary>"
            f"<table><thead><tr><th>Weight</th><th>Stored dtype</th><th>Bytes</th></tr></thead>"
            f"<tbody>{table}</tbody></table></details>")


def _changes_table(changes: list[tuple[str, int, int]]) -> str:
    body = "".join(
        f'<tr><td>{escape(layer)}</td><td class="num">{format_size(before)}</td>'
        f'<td class="num">{format_size(after)}</td><td class="num">{format_size_delta(after - before)}</td></tr>'
        for layer, before, after in changes
    )
    head = "<tr><th>Layer</th><th>Before</th><th>After</th><th>Change</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]], text_columns: int = 1) -> str:
    """The first ``text_columns`` as text, the others as numbers."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    cells = ['<td{}>{}</td>'.format(' class="num"' if i >= text_columns else "", escape(cell))
             for row in rows for i, cell in enumerate(row)]
    width = len(head)
    body = "".join("<tr>" + "".join(cells[i:i + width]) + "</tr>" for i in range(0, len(cells), width))
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _bench_tables(bench: ModelBench) -> str:
    """Per backend: load, first inference, median, p90, spread, peak memory; then the slowest kernels."""
    backends = sorted(bench.backends.items())
    figures = _table(BENCH_HEADERS[1:], [(backend, *bench_cells(f)) for backend, f in backends])
    kernels = _table(("Backend", "Kernel", "Time", "Calls", "Share"),
                     [(backend, *row) for backend, f in backends for row in kernel_rows(f)], text_columns=2)
    return f"{figures}<h4>Slowest kernels (tf.profile of one inference)</h4>{kernels}"
