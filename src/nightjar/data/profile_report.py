"""A `Profile` for people: terminal tables, a self-contained HTML page with plots, and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from nightjar import plots
from nightjar.console import interactive, out, print_table
from nightjar.data.profile import KindProfile, Profile
from nightjar.report_html import render, write_html

MAX_PLOTTED_COLUMNS = 60


def flags(column: dict[str, Any]) -> list[str]:
    """Short warnings about one column: constant, near-constant, mostly missing, counts approximate."""
    found = []
    if column["missing_share"] >= 1.0:
        return ["all missing"]
    if column["constant"]:
        found.append("constant")
    elif column["near_constant"]:
        found.append("near-constant")
    if column["missing_share"] >= 0.5 and not column["constant"]:
        found.append("mostly missing")
    if not column["distinct_exact"]:
        found.append("approx. counts")
    return found


def print_profile(profile: Profile) -> None:
    """The profile as terminal tables (tab-separated, with a `# title` line, when piped)."""
    _table("Sources", ["source", "format", "read", "parsed", "rejected", "notes"],
           _source_rows(profile) + [[s, "skipped", "", "", "", why] for s, why in profile.skipped])
    _table("Event kinds", ["kind", "rows", "columns", "exact dups", "first", "last"],
           [[k.kind, k.rows, len(k.columns), k.duplicates["exact"], (k.time or {}).get("first", ""),
             (k.time or {}).get("last", "")] for k in profile.kinds.values()])
    for kind in profile.kinds.values():
        _table(f"{kind.kind}: columns", ["column", "type", "missing", "missing %", "distinct", "top value", "top %", "flags"],
               [[c["name"], c["type"], c["missing"], f"{100 * c['missing_share']:.1f}", _distinct(c),
                 _top_value(c), "" if c["top_share"] is None else f"{100 * c['top_share']:.1f}", ", ".join(flags(c))]
                for c in kind.columns])
        keys = kind.duplicates["keys"]
        if keys:
            _table(f"{kind.kind}: duplicates on key fields", ["fields", "rows", "duplicates", "share %"],
                   [[" + ".join(k["fields"]), k["rows"], k["duplicates"], f"{100 * k['share']:.1f}"] for k in keys])
        if kind.labels and kind.labels["found"]:
            _table(f"{kind.kind}: label {kind.labels['column']!r}", ["value", "rows"], list(kind.labels["counts"].items()))
        flagged = [leak for leak in kind.leakage or [] if leak["flagged"]]
        if flagged:
            _table(f"{kind.kind}: suspected label leakage", ["column", "AUC", "how", "why"],
                   [[lk["column"], lk["auc"], lk["method"], lk["reason"]] for lk in flagged])
    rejections = [str(x) for r in profile.reports for x in r.rejections][:5]
    if rejections:
        _table("First rejected records", ["where: why"], [[x] for x in rejections])


MAX_SOURCE_ROWS = 20


def _source_rows(profile: Profile) -> list[list[Any]]:
    """One row per source; past MAX_SOURCE_ROWS, one row per format plus the sources with problems."""
    def row(r: Any) -> list[Any]:
        return [r.source, r.format, r.read, r.parsed, r.rejected, "; ".join(["truncated"] * r.truncated + r.notes)]

    if len(profile.reports) <= MAX_SOURCE_ROWS:
        return [row(r) for r in profile.reports]
    by_format: dict[str, list[Any]] = {}
    for r in profile.reports:
        agg = by_format.setdefault(r.format, [0, 0, 0, 0, 0])
        agg[0] += 1
        agg[1] += r.read
        agg[2] += r.parsed
        agg[3] += r.rejected
        agg[4] += int(r.truncated)
    rows = [[f"{n:,} files", fmt, read, parsed, rejected, f"{trunc} truncated" if trunc else ""]
            for fmt, (n, read, parsed, rejected, trunc) in sorted(by_format.items())]
    troubled = [r for r in profile.reports if r.rejected or r.truncated or r.notes]
    return rows + [row(r) for r in troubled[:MAX_SOURCE_ROWS]]


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    if not interactive():
        out.file.write(f"# {title}\n")
    print_table(title, columns, rows)
    if not interactive():
        out.file.write("\n")


def _distinct(column: dict[str, Any]) -> str:
    if column["distinct"] is None:
        return ""
    return ("" if column["distinct_exact"] else "~") + f"{column['distinct']:,}"


def _top_value(column: dict[str, Any]) -> str:
    if not column["top"]:
        return ""
    text = str(column["top"][0]["value"])
    return text if len(text) <= 40 else text[:39] + "…"


def write_json(profile: Profile, path: str | Path) -> Path:
    """The profile as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(profile.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str))
    return path


def write_profile_html(profile: Profile, path: str | Path, title: str = "Data profile") -> Path:
    """The profile as one self-contained HTML file with inline SVG plots."""
    return write_html(path, profile_html(profile, title))


def profile_html(profile: Profile, title: str = "Data profile") -> str:
    """Render the HTML page."""
    kinds = [_kind_view(k) for k in profile.kinds.values()]
    return render("profile.html", title=title, profile=profile, data=profile.as_dict(), kinds=kinds, flags=flags)


def _kind_view(kind: KindProfile) -> dict[str, Any]:
    """The plots of one kind, ready for the template."""
    view: dict[str, Any] = {"kind": kind, "plots": {}, "top_plots": {}}
    if kind.time and kind.time["per_hour"]:
        hours = kind.time["per_hour"]
        xs = [datetime.fromisoformat(h.rstrip("Z")).replace(tzinfo=UTC).timestamp() / 3600 for h, _ in hours]
        view["plots"]["events per hour"] = plots.line_plot(
            {"": (xs, [n for _, n in hours])}, title="Events per hour (UTC)", y_label="events",
            x_format=lambda x: datetime.fromtimestamp(x * 3600, UTC).strftime("%m-%d %H:00"), markers=len(hours) < 50)
    missing = sorted((c for c in kind.columns if c["missing"]), key=lambda c: -c["missing_share"])
    if missing:
        view["plots"]["missing values"] = plots.bar_chart(
            [c["name"] for c in missing], [100 * c["missing_share"] for c in missing], title="Missing values (% of rows)",
            value_format="{:.1f} %", color=plots.PALETTE[1])
    if kind.labels and kind.labels["found"]:
        counts = kind.labels["counts"]
        view["plots"]["label balance"] = plots.bar_chart(list(counts), list(counts.values()), title=f"Label {kind.labels['column']}")
    for c in kind.columns[:MAX_PLOTTED_COLUMNS]:
        if len(c["top"]) > 1:
            view["top_plots"][c["name"]] = plots.bar_chart([t["value"] for t in c["top"]], [t["count"] for t in c["top"]],
                                                           width=440, color=plots.PALETTE[2])
    return view
