"""The SVG plots: well-formed, self-contained, escaped, and right about their axes."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from nightjar import plots

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in parse(svg).iter(f"{SVG}text")]


def test_bar_chart_has_one_bar_per_label_and_escapes_text() -> None:
    svg = plots.bar_chart(["<script>alert(1)</script>", "b & c", "d"], [3, 2, 0], title="counts <x>")
    root = parse(svg)
    assert len(root.findall(f"{SVG}rect")) == 3
    assert "<script>" not in svg and "counts <x>" in texts(svg)
    assert "3" in texts(svg) and "0" in texts(svg)


def test_bar_chart_widths_are_proportional() -> None:
    rects = parse(plots.bar_chart(["a", "b"], [10, 5])).findall(f"{SVG}rect")
    widths = [float(r.get("width", 0)) for r in rects]
    assert math.isclose(widths[0], 2 * widths[1], rel_tol=1e-2)


def test_no_external_references() -> None:
    svgs = [plots.bar_chart(["a"], [1]), plots.line_plot({"x": ([0, 1], [0, 1])}), plots.histogram({"a": [1, 2, 3]})]
    for svg in svgs:
        assert "<script" not in svg
        assert svg.count("http") == 1  # only the SVG namespace


def test_line_plot_log_x_drops_non_positive_x_and_ticks_powers_of_ten() -> None:
    svg = plots.line_plot({"roc": ([0.0, 1e-4, 1e-2, 1.0], [0.0, 0.3, 0.7, 1.0])}, log_x=True, diagonal=True, y_range=(0, 1))
    root = parse(svg)
    curve = [p for p in root.findall(f"{SVG}polyline") if p.get("stroke") != "#999"][0]
    assert len(curve.get("points", "").split()) == 3
    assert {"1e-04", "0.001", "0.01", "0.1", "1"} <= set(texts(svg))


def test_line_plot_legend_names_each_series() -> None:
    svg = plots.line_plot({"model A": ([0, 1], [0, 1]), "model B": ([0, 1], [1, 0])}, legend="lower right")
    assert {"model A", "model B"} <= set(texts(svg))


def test_histogram_overlays_classes_on_shared_bins() -> None:
    svg = plots.histogram({"benign": [0.1, 0.2, 0.2, 0.3], "malicious": [0.8, 0.9]}, bins=10)
    lines = parse(svg).findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert {"benign", "malicious"} <= set(texts(svg))


def test_empty_and_degenerate_inputs_do_not_crash() -> None:
    parse(plots.bar_chart([], []))
    parse(plots.line_plot({}))
    parse(plots.line_plot({"flat": ([1, 1], [5, 5])}))
    parse(plots.histogram({"none": []}))
    parse(plots.histogram({"same": [2.0, 2.0, float("nan")]}))


@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6))
def test_nice_ticks_cover_the_range_evenly(lo: float, span: float) -> None:
    ticks = plots.nice_ticks(lo, lo + span)
    assert ticks[0] <= lo + 1e-9 * max(1, abs(lo)) and ticks[-1] >= lo + span - 1e-9 * max(1, abs(lo + span))
    steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) <= 2 and len(ticks) <= 12  # evenly spaced up to rounding


def test_reports_are_written_with_ordinary_permissions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    from nightjar.report_html import write_html

    path = write_html(tmp_path / "r.html", "<html></html>")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
