"""leaderboard.html: a self-contained page (inline CSS and SVG bar charts with CI error bars, nothing
fetched from the network). Every text from runs and data is escaped."""

from __future__ import annotations

from html import escape

from dpbench.leaderboard.board import Leaderboard, Row
from dpbench.leaderboard.text import (
    HEALTH_KEYS,
    HEALTH_NOTE,
    capped,
    footer_lines,
    format_cell,
    format_value,
    group_notes,
    health_cells,
    row_label,
)
from dpbench.metrics import SPECS

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table.leaderboard{border-collapse:collapse;font-size:.9rem;margin:1rem 0}
table.leaderboard th,table.leaderboard td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}
table.leaderboard td.txt,table.leaderboard th.txt{text-align:left}
table.leaderboard tr.baseline{background:#f3f6fb}
table.leaderboard tr.unhealthy td{background:#fff3f0}.health-note{color:#a30;font-size:.85rem}
.notes li{font-size:.85rem;margin:.2rem 0}
.ci{color:#777;font-size:.8rem}.mk{color:#b00;font-weight:bold}.warn{color:#a60}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure.chart{margin:0}figcaption{font-size:.85rem;font-weight:600}
footer{font-size:.8rem;color:#555;margin-top:2rem}footer li{margin:.2rem 0}
"""
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


def bar_chart_svg(metric: str, rows: list[Row]) -> str:
    """One bar per run with a CI error bar; the y axis starts at 0."""
    spec = SPECS[metric]
    vals = [(r, r.cells.get(metric)) for r in rows]
    top = max([c.ci_high if c and c.ci_high is not None else (c.value or 0) if c else 0 for _, c in vals] + [1e-9])
    top = top * 1.1
    bar_w, gap, left, plot_h = 46, 18, 48, 170
    labels = [row_label(r) for r in rows]
    # one readable label per run (method + variant), slanted so long ones never run together
    label_h = 12 + 5.2 * min(32, max((len(x) for x in labels), default=0))
    height = int(20 + plot_h + label_h)
    width = left + len(rows) * (bar_w + gap) + gap

    def y(v: float) -> float:
        return 20 + plot_h * (1 - v / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" data-metric="{escape(metric)}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(spec.label)} by run">',
             f'<line x1="{left}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#888"/>',
             f'<line x1="{left}" y1="20" x2="{left}" y2="{y(0):.1f}" stroke="#888"/>']
    for frac in (0.0, 0.5, 1.0):
        v = top / 1.1 * frac
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{escape(format_value(metric, v))}</text>')
    for i, (r, c) in enumerate(vals):
        x = left + gap + i * (bar_w + gap)
        color = PALETTE[i % len(PALETTE)]
        if c is not None and c.value is not None:
            parts.append(f'<rect class="bar" x="{x}" y="{y(c.value):.1f}" width="{bar_w}" '
                         f'height="{max(0.0, y(0) - y(c.value)):.1f}" fill="{color}">'
                         f'<title>{escape(row_label(r))} {escape(format_cell(metric, c))}</title></rect>')
            if c.ci_low is not None and c.ci_high is not None:
                cx = x + bar_w / 2
                parts.append(f'<g class="error-bar" stroke="#222"><line x1="{cx}" y1="{y(c.ci_low):.1f}" '
                             f'x2="{cx}" y2="{y(c.ci_high):.1f}"/><line x1="{cx - 6}" y1="{y(c.ci_low):.1f}" '
                             f'x2="{cx + 6}" y2="{y(c.ci_low):.1f}"/><line x1="{cx - 6}" y1="{y(c.ci_high):.1f}" '
                             f'x2="{cx + 6}" y2="{y(c.ci_high):.1f}"/></g>')
            if c.marker:
                parts.append(f'<text x="{x + bar_w / 2}" y="14" font-size="11" text-anchor="middle" '
                             f'fill="#b00">{escape(c.marker)}</text>')
        text = labels[i] if len(labels[i]) <= 32 else labels[i][:31] + "…"
        lx, ly = x + bar_w / 2, y(0) + 12
        parts.append(f'<text class="bar-label" x="{lx}" y="{ly:.1f}" font-size="10" text-anchor="end" '
                     f'transform="rotate(-35 {lx} {ly:.1f})"><title>{escape(labels[i])}</title>{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def table_html(board: Leaderboard, rows: list[Row]) -> str:
    head = "".join(f'<th class="txt">{h}</th>' for h in ("method", "model", "backend"))
    head += "".join(f"<th>{h}</th>" for h in ("coverage", *HEALTH_KEYS, "errors"))
    head += "".join(f"<th>{escape(SPECS[m].label)}</th>" for m in board.metrics)
    body = []
    for r in rows:
        cells = []
        for m in board.metrics:
            c = r.cells.get(m)
            if c is None or c.value is None:
                cells.append("<td>—</td>")
                continue
            ci = (f'<br><span class="ci">[{format_value(m, c.ci_low)}, {format_value(m, c.ci_high)}]</span>'
                  if c.ci_low is not None else "")
            title = f' title="Δ={c.delta:+.4g}, p={c.p_value:.4g}"' if c.p_value is not None else ""
            cells.append(f'<td{title}>{format_value(m, c.value)}<span class="mk">{escape(c.marker)}</span>{ci}</td>')
        cov = f"{r.coverage:.0%}" + (' <span class="warn" title="incomplete run">⚠</span>'
                                     if "incomplete" in r.flags else "")
        classes = " ".join(c for c, on in (("baseline", r.is_baseline), ("unhealthy", r.unhealthy)) if on)
        cls = f' class="{classes}"' if classes else ""
        flag = (f' <span class="warn" title="{escape(r.health.get("reason") or "")}">⚠ unhealthy</span>'
                if r.unhealthy else "")
        health = "".join(f"<td>{v}</td>" for v in health_cells(r))
        body.append(f'<tr{cls} data-run-id="{escape(r.run_id)}"><td class="txt">{escape(row_label(r))}{flag}</td>'
                    f'<td class="txt">{escape(r.model)}</td><td class="txt">{escape(r.backend)}</td>'
                    f"<td>{cov}</td>{health}<td>{r.error_rate:.0%}</td>{''.join(cells)}</tr>")
    return f'<table class="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render(board: Leaderboard) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>dpbench leaderboard</title>", f"<style>{CSS}</style></head><body>",
           "<h1>dpbench leaderboard</h1>"]
    for g in board.groups:
        out.append(f'<section class="group"><h2>{escape(g.title)}</h2>')
        out.append(table_html(board, g.rows))
        notes = group_notes(g)
        if notes:
            out.append('<ul class="notes">' + "".join(
                f'<li class="{"health-note" if n.startswith("⚠") else "note"}">{escape(n)}</li>' for n in notes)
                + "</ul>")
        charts = "".join(f'<figure class="chart"><figcaption>{escape(SPECS[m].label)} '
                         f'({"higher" if SPECS[m].higher_is_better else "lower"} is better; bars: 95% CI)'
                         f"</figcaption>{bar_chart_svg(m, g.rows)}</figure>" for m in board.metrics)
        out.append(f'<div class="charts">{charts}</div></section>')
    out.append("<footer><h3>Settings</h3><ul>")
    out += [f"<li>{escape(line)}</li>" for line in [*footer_lines(board), HEALTH_NOTE]]
    out.append("</ul>")
    if board.problems:
        out.append("<h3>Runs not scored</h3><ul>" + "".join(f"<li>{escape(p)}</li>" for p in capped(board.problems))
                   + "</ul>")
    if board.warnings:
        out.append("<h3>Warnings</h3><ul>" + "".join(f"<li>{escape(w)}</li>" for w in capped(board.warnings))
                   + "</ul>")
    out.append("</footer></body></html>")
    return "\n".join(out) + "\n"
