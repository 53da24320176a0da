"""Self-contained HTML reports: Jinja2 templates shipped in `nightjar/templates`, inline CSS, inline SVG.

A report is one file that opens offline: no JavaScript, no CDN, no external stylesheet. Templates
extend `base.html`; plots come from `nightjar.plots` and are passed in as `Markup`.

Example:
    >>> html = render("base.html", title="Empty report")
    >>> "<title>Empty report</title>" in html
    True
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from nightjar import __version__


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("nightjar", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = format_count
    env.filters["share"] = format_share
    return env


def render(template: str, **context: Any) -> str:
    """Render a template from `nightjar/templates` with the version and generation time available."""
    context.setdefault("version", __version__)
    context.setdefault("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return _env().get_template(template).render(**context)


def write_html(path: str | Path, html: str) -> Path:
    """Write `html` to `path` atomically (a temporary file, then a rename); folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # a report is an ordinary file (mkstemp makes it owner-only)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def format_count(n: object) -> str:
    """`12345` -> `12,345`; anything else unchanged (None -> empty)."""
    if n is None:
        return ""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def format_share(x: object, digits: int = 1) -> str:
    """`0.1234` -> `12.3 %`; None -> empty."""
    if x is None:
        return ""
    return f"{float(x) * 100:.{digits}f} %"  # type: ignore[arg-type]
