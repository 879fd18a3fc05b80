"""Charts as inline SVG, drawn here: the page needs no script, no CDN, no server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
GOOD, BAD, AMBER = "#2ca02c", "#d62728", "#ff7f0e"
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 270, 56, 36, 32


def _frame(title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>"
        + _text(8, 18, title, font_size="13", font_weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, label: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(label)}</text>'


def _axes(height: int, y_max: float, unit: str) -> list[str]:
    plot_h = height - BOTTOM - TOP
    parts = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{height - BOTTOM}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{height - BOTTOM}" x2="{WIDTH - 10}" y2="{height - BOTTOM}" stroke="#333"/>',
    ]
    for step in range(5):
        value = y_max * step / 4
        y = height - BOTTOM - plot_h * step / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(LEFT - 6, y + 4, f"{value:.3g}{unit}", "end"))
    return parts


def pass_rate_chart(days: Sequence[tuple[str, int, int]]) -> str:
    """Bars per day: the share of validations that PASSED (label: passed/runs)."""
    title = "Pass rate per day"
    if not days:
        return _frame(title, [_text(WIDTH / 2, HEIGHT / 2, "no validations in the period", "middle")])
    plot_w, plot_h = WIDTH - LEFT - 20, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(days)
    parts = _axes(HEIGHT, 100, "%")
    for i, (day, runs, passed) in enumerate(days):
        rate = passed / runs if runs else 0.0
        x, h = LEFT + i * slot + slot * 0.15, plot_h * rate
        colour = GOOD if rate == 1 else (BAD if rate < 0.5 else AMBER)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{max(h, 1):.1f}" fill="{colour}"><title>{escape(day)}: {passed}/{runs} passed</title></rect>'
        )
        parts.append(_text(x + slot * 0.35, HEIGHT - BOTTOM - h - 4, f"{passed}/{runs}", "middle"))
        parts.append(_text(x + slot * 0.35, HEIGHT - BOTTOM + 14, day, "middle"))
    return _frame(title, parts)


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float]]


def rto_chart(series: Sequence[Series]) -> str:
    """RTO (minutes) of every validation over time, one line per resource; the time axis spans the points."""
    title = "RTO per resource over time (minutes)"
    values = [v for s in series for _, v in s.points]
    legend_h = 16 * len(series)
    height = HEIGHT + legend_h
    if not values:
        return _frame(title, [_text(WIDTH / 2, HEIGHT / 2, "no restore times in the period", "middle")])
    y_max = max(values) * 1.15 or 1.0
    times = [when for s in series for when, _ in s.points]
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - 20, HEIGHT - BOTTOM - TOP
    parts = _axes(HEIGHT, y_max, "")
    parts.append(_text(LEFT, HEIGHT - BOTTOM + 14, start.strftime("%Y-%m-%d %H:%M:%S")))
    parts.append(_text(WIDTH - 10, HEIGHT - BOTTOM + 14, end.strftime("%Y-%m-%d %H:%M:%S"), "end"))
    for index, each in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        xy = [
            (LEFT + plot_w * (when - start).total_seconds() / span, HEIGHT - BOTTOM - plot_h * value / y_max)
            for when, value in each.points
        ]
        if len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in xy)
        legend_y = HEIGHT + 12 + 16 * index
        parts.append(f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(LEFT + 16, legend_y, each.name))
    return _frame(title, parts, height)


def coverage_chart(rows: Sequence[tuple[str, float | None, str, float]], slo_hours: float) -> str:
    """Hours since each resource last PASSED against its SLO (name, hours, coverage, SLO hours): each bar is
    scaled to its own SLO, which is the dashed line; `never` fills the bar."""
    slos = {row[3] for row in rows} or {slo_hours}
    one = next(iter(slos)) if len(slos) == 1 else None
    against = f"SLO {one:g}h" if one is not None else "each against its selection's SLO, the dashed line"
    title = f"Coverage: hours since the last PASSED validation ({against})"
    bar, gap, left = 16, 6, 200
    height = TOP + len(rows) * (bar + gap) + BOTTOM
    if not rows:
        return _frame(title, [_text(WIDTH / 2, 50, "no resources", "middle")], 80)
    plot_w = WIDTH - left - 150
    parts = []
    for i, (name, hours, coverage, slo) in enumerate(rows):
        y = TOP + i * (bar + gap)
        length = plot_w if hours is None else plot_w * min(hours / slo, 2.0) / 2
        colour = GOOD if coverage == "COVERED" else BAD
        label = "never" if hours is None else f"{hours:.1f}h" + ("" if one is not None else f" of {slo:g}h")
        parts.append(_text(left - 6, y + 12, name, "end"))
        parts.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{max(length, 2):.1f}" height="{bar}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(coverage)}</title></rect>"
        )
        parts.append(_text(left + max(length, 2) + 4, y + 12, f"{label} {coverage}"))
    slo_x = left + plot_w / 2
    parts.append(
        f'<line x1="{slo_x:.1f}" y1="{TOP - 6}" x2="{slo_x:.1f}" y2="{height - BOTTOM + 6}" stroke="#333" '
        'stroke-dasharray="4 3"/>'
    )
    parts.append(_text(slo_x, height - BOTTOM + 20, f"SLO {one:g}h" if one is not None else "SLO", "middle"))
    return _frame(title, parts, height)
