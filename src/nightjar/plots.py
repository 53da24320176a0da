"""Small self-contained SVG plots for HTML reports: bar charts, histograms and line plots.

No JavaScript, no external CSS: every function returns one `<svg>` element as `Markup`, safe to drop
into a Jinja2 template. Line plots take `log_x=True` for ROC curves read at low false-positive rates.

Example:
    >>> svg = bar_chart(["a", "b"], [3, 1], title="counts")
    >>> svg.startswith("<svg") and "</svg>" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

PALETTE = ("#3b6ea5", "#d1603d", "#4e9a5a", "#8c6bb1", "#c59a1a", "#5f9ea0", "#b5467a", "#777777")
FONT = "font-family=\"system-ui,sans-serif\" font-size=\"11\""
Series = tuple[Sequence[float], Sequence[float]]


def bar_chart(
    labels: Sequence[object],
    values: Sequence[float],
    *,
    title: str = "",
    value_format: str = "{:,}",
    width: int = 520,
    color: str = PALETTE[0],
    max_bars: int = 40,
) -> Markup:
    """Horizontal bars, one per label, with the value printed at the end of each bar."""
    labels, values = list(labels)[:max_bars], [float(v) for v in list(values)[:max_bars]]
    bar_h, gap, label_w, top = 16, 4, min(220, 12 + 7 * max((len(str(x)) for x in labels), default=1)), 22 if title else 6
    height = top + len(labels) * (bar_h + gap) + 6
    plot_w = width - label_w - 70
    vmax = max((v for v in values if math.isfinite(v)), default=0.0) or 1.0
    parts = [_open(width, height), _title(title, width)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (bar_h + gap)
        w = max(0.0, plot_w * value / vmax) if math.isfinite(value) else 0.0
        text = _short(str(label), (label_w - 10) // 7)
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(text)}<title>{escape(label)}</title></text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>')
        shown = value_format.format(int(value) if value.is_integer() and "%" not in value_format else value)
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{escape(shown)}</text>')
    return Markup("".join(parts) + "</svg>")


def histogram(
    values_by_class: Mapping[str, Sequence[float]],
    *,
    bins: int = 30,
    title: str = "",
    x_label: str = "",
    density: bool = False,
    width: int = 520,
    height: int = 260,
) -> Markup:
    """Overlaid step histograms, one per class, on shared bins (e.g. scores of benign vs malicious)."""
    finite = {k: [float(v) for v in vs if math.isfinite(float(v))] for k, vs in values_by_class.items()}
    everything = [v for vs in finite.values() for v in vs]
    lo, hi = (min(everything), max(everything)) if everything else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    step = (hi - lo) / bins
    series: dict[str, Series] = {}
    for name, vs in finite.items():
        counts = [0.0] * bins
        for v in vs:
            counts[min(bins - 1, int((v - lo) / step))] += 1
        if density and vs:
            counts = [c / (len(vs) * step) for c in counts]
        xs, ys = [lo], [0.0]
        for i, c in enumerate(counts):
            xs += [lo + i * step, lo + (i + 1) * step]
            ys += [c, c]
        series[name] = (xs + [hi], ys + [0.0])
    return line_plot(series, title=title, x_label=x_label, y_label="density" if density else "count",
                     width=width, height=height, x_range=(lo, hi))


def line_plot(
    series: Mapping[str, Series],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    log_x: bool = False,
    log_y: bool = False,
    diagonal: bool = False,
    x_format: Callable[[float], str] | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    markers: bool = False,
    legend: str = "upper right",
    width: int = 520,
    height: int = 280,
) -> Markup:
    """Lines (x, y) per named series, with axes, ticks and a legend ("upper right" or "lower right").

    `diagonal` adds the y = x chance line (curved on a log axis), for ROC curves.
    """
    left, right, top, bottom = 56, 36, 24 if title else 10, 40
    pw, ph = width - left - right, height - top - bottom
    pts = {k: [(float(x), float(y)) for x, y in zip(*s, strict=True) if _plottable(x, log_x) and _plottable(y, log_y)]
           for k, s in series.items()}
    xs = [x for p in pts.values() for x, _ in p]
    ys = [y for p in pts.values() for _, y in p]
    x0, x1 = x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    if y_range is None:
        y_range = ((min(ys) if log_y else min(0.0, min(ys))), max(ys)) if ys else (0.0, 1.0)
    y0, y1 = y_range
    fx, x_ticks = _axis(x0, x1, log_x)
    fy, y_ticks = _axis(y0, y1, log_y)

    def px(x: float) -> float:
        return left + pw * fx(x)

    def py(y: float) -> float:
        return top + ph * (1 - fy(y))

    parts = [_open(width, height), _title(title, width)]
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>')
    fmt = x_format or _tick_text
    for t in x_ticks:
        parts.append(f'<line x1="{px(t):.1f}" y1="{top + ph}" x2="{px(t):.1f}" y2="{top + ph + 4}" stroke="#666"/>'
                     f'<text x="{px(t):.1f}" y="{top + ph + 15}" text-anchor="middle">{escape(fmt(t))}</text>')
    for t in y_ticks:
        parts.append(f'<line x1="{left - 4}" y1="{py(t):.1f}" x2="{left + pw}" y2="{py(t):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{escape(_tick_text(t))}</text>')
    if x_label:
        parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text x="12" y="{top + ph / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 12 {top + ph / 2})">{escape(y_label)}</text>')
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        grid = [lo + (hi - lo) * i / 50 for i in range(51)] if log_x or log_y else [lo, hi]
        line = " ".join(f"{px(v):.1f},{py(v):.1f}" for v in grid if _plottable(v, log_x) and _plottable(v, log_y))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#999" stroke-dasharray="4 3"/>')
    for i, (name, p) in enumerate(pts.items()):
        color = PALETTE[i % len(PALETTE)]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in p)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        if markers:
            parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{color}"/>' for x, y in p]
        if len(pts) > 1 or name:
            ly = top + 12 + 14 * i if legend == "upper right" else top + ph - 8 - 14 * (len(pts) - 1 - i)
            parts.append(f'<rect x="{left + pw - 130}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                         f'<text x="{left + pw - 116}" y="{ly + 1}">{escape(_short(name, 18))}</text>')
    return Markup("".join(parts) + "</svg>")


def _axis(lo: float, hi: float, log: bool) -> tuple[Callable[[float], float], list[float]]:
    """A map from data to 0..1 and the tick positions for one axis."""
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        b = b if b > a else a + 1
        return (lambda v: (math.log10(v) - a) / (b - a)), [10.0**e for e in range(a, b + 1)]
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    return (lambda v: (v - lo) / (hi - lo)), ticks


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick positions (1, 2 or 5 × 10^k apart) covering lo..hi."""
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [round(start + i * step, 12) for i in range(int(math.ceil((hi - start) / step)) + 1)]


def _tick_text(v: float) -> str:
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
        return f"{v:.0e}"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"


def _plottable(v: float, log: bool) -> bool:
    v = float(v)
    return math.isfinite(v) and (v > 0 or not log)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "…"


def _open(width: int, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT} role="img">')


def _title(title: str, width: int) -> str:
    return f'<text x="{width / 2}" y="15" text-anchor="middle" font-weight="bold">{escape(title)}</text>' if title else ""
