"""The two plots a model card needs that `nightjar.plots` does not draw.

- `curve_plot`: overlaid curves on a log (or linear) x axis with a marked point per series, a
  vertical line at the target FPR and a shaded band where the FPR cannot be measured;
- `grouped_bars`: horizontal bars per label for several series side by side (chosen vs baseline).

Both return one inline `<svg>` as `Markup`, with the palette of `nightjar.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from nightjar.plots import PALETTE, nice_ticks

FONT = 'font-family="system-ui,sans-serif" font-size="11"'
Curve = tuple[Sequence[float], Sequence[float]]


def curve_plot(
    curves: Mapping[str, Curve],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    log_x: bool = False,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    points: Mapping[str, tuple[float, float, str]] | None = None,
    vline: tuple[float, str] | None = None,
    shade_below: float | None = None,
    diagonal: bool = False,
    colors: Mapping[str, str] | None = None,
    legend: str = "top right",
    width: int = 540,
    height: int = 320,
) -> Markup:
    """Curves per name; `points[name] = (x, y, label)` marks e.g. the operating point of that model.

    On a log axis, x values at or below the left edge are drawn on the edge; `shade_below` greys the
    x range below it (e.g. FPRs under 1/n_negatives). `legend` is "top right", "bottom left", etc.
    """
    left, right, top, bottom = 52, 14, 26 if title else 10, 40
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = x_range
    y0, y1 = y_range

    def fx(x: float) -> float:
        if log_x:
            x = max(x, x0)
            return left + pw * (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
        return left + pw * (x - x0) / (x1 - x0)

    def fy(y: float) -> float:
        return top + ph * (1 - (y - y0) / (y1 - y0))

    colour = {name: (colors or {}).get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(curves)}
    parts = [_open(width, height)]
    if title:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>')
    if shade_below is not None and shade_below > x0:
        edge = fx(min(shade_below, x1))
        parts.append(f'<rect x="{left}" y="{top}" width="{edge - left:.1f}" height="{ph}" fill="#eee">'
                     f'<title>not measurable: fewer than 1/FPR negatives</title></rect>')
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>')
    x_ticks = ([10.0**e for e in range(math.ceil(math.log10(x0)), math.floor(math.log10(x1)) + 1)]
               if log_x else nice_ticks(x0, x1))
    for t in x_ticks:
        label = f"1e{int(round(math.log10(t)))}" if log_x and t < 1 else f"{t:g}"
        parts.append(f'<line x1="{fx(t):.1f}" y1="{top}" x2="{fx(t):.1f}" y2="{top + ph + 4}" stroke="#eee"/>'
                     f'<text x="{fx(t):.1f}" y="{top + ph + 15}" text-anchor="middle">{label}</text>')
    for t in nice_ticks(y0, y1):
        if y0 <= t <= y1:
            parts.append(f'<line x1="{left - 4}" y1="{fy(t):.1f}" x2="{left + pw}" y2="{fy(t):.1f}" stroke="#eee"/>'
                         f'<text x="{left - 6}" y="{fy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>'
                 f'<text x="12" y="{top + ph / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + ph / 2})">{escape(y_label)}</text>')
    if diagonal:
        grid = [x0 * (x1 / x0) ** (i / 60) for i in range(61)] if log_x else [x0, x1]
        line = " ".join(f"{fx(v):.1f},{fy(v):.1f}" for v in grid if y0 <= v <= y1)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#aaa" stroke-dasharray="4 3"/>')
    if vline is not None:
        x, label = vline
        parts.append(f'<line x1="{fx(x):.1f}" y1="{top}" x2="{fx(x):.1f}" y2="{top + ph}" stroke="#555" '
                     f'stroke-dasharray="2 3"/><text x="{fx(x) + 3:.1f}" y="{top + ph - 5}">{escape(label)}</text>')
    for name, (xs, ys) in curves.items():
        pts = [(x, y) for x, y in zip(xs, ys, strict=True) if _finite(x, y) and (not log_x or x > 0)]
        line = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour[name]}" stroke-width="1.7"/>')
    for name, (x, y, label) in (points or {}).items():
        if _finite(x, y):
            c = colour.get(name, "#000")
            parts.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="5" fill="{c}" stroke="#000" stroke-width="1">'
                         f'<title>{escape(name)}: {escape(label)}</title></circle>')
    rows = len(curves) + bool(points)
    lx = left + pw - 190 if "right" in legend else left + 10
    ly0 = top + 14 if "top" in legend else top + ph - 15 * rows + 4
    for i, name in enumerate(curves):
        ly = ly0 + 15 * i
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour[name]}"/>'
                     f'<text x="{lx + 15}" y="{ly}">{escape(_short(name, 30))}</text>')
    if points:
        ly = ly0 + 15 * len(curves)
        parts.append(f'<circle cx="{lx + 5}" cy="{ly - 4}" r="4" fill="#fff" stroke="#000"/>'
                     f'<text x="{lx + 15}" y="{ly}">operating point</text>')
    return Markup("".join(parts) + "</svg>")


def grouped_bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str = "",
    value_format: str = "{:.0%}",
    x_max: float = 1.0,
    colors: Mapping[str, str] | None = None,
    width: int = 560,
) -> Markup:
    """One row per label with a thin bar per series (None draws no bar and prints "n/a")."""
    names = list(series)
    bar_h, gap = 11, 7
    label_w = min(220, 14 + 7 * max((len(str(x)) for x in labels), default=1))
    top = (26 if title else 8) + 15 * len(names)
    row_h = bar_h * len(names) + gap
    height = top + row_h * len(labels) + 8
    plot_w = width - label_w - 56
    colour = {n: (colors or {}).get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)}
    parts = [_open(width, height)]
    if title:
        parts.append(f'<text x="{width / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>')
    for i, name in enumerate(names):
        ly = (26 if title else 8) + 15 * i + 8
        parts.append(f'<rect x="{label_w}" y="{ly - 9}" width="10" height="10" fill="{colour[name]}"/>'
                     f'<text x="{label_w + 15}" y="{ly}">{escape(name)}</text>')
    for r, label in enumerate(labels):
        y = top + r * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h * len(names) / 2 + 4:.1f}" text-anchor="end">'
                     f'{escape(_short(str(label), (label_w - 10) // 7))}<title>{escape(label)}</title></text>')
        for i, name in enumerate(names):
            value = series[name][r]
            by = y + i * bar_h
            if value is None or not math.isfinite(value):
                parts.append(f'<text x="{label_w + 2}" y="{by + 9}" fill="#888">n/a</text>')
                continue
            w = max(0.0, plot_w * min(value, x_max) / x_max)
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h - 1}" fill="{colour[name]}"/>'
                         f'<text x="{label_w + w + 3:.1f}" y="{by + 9}">{escape(value_format.format(value))}</text>')
    return Markup("".join(parts) + "</svg>")


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "…"


def _open(width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT} role="img">')
