"""HTML every page of the control room shares: style sheet, page shell, tables, numbers (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #212121; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
nav a { margin-right: 1rem; } .meta { color: #616161; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 0.25rem 0.6rem; text-align: left; }
span.num { font-variant-numeric: tabular-nums; }
.passed, .ok { color: #2e7d32; } .warn { color: #ef6c00; }
.failed, .fail { color: #c62828; font-weight: 600; }
.missing { color: #616161; font-style: italic; background: #f5f5f5; padding: 0.5rem 0.8rem; }
.charts { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.drift-chart { border: 1px solid #eeeeee; } .chart-title { font-size: 12px; font-weight: 600; }
.tick { font-size: 10px; fill: #616161; } tr.model td { font-weight: 600; }
td.observed { max-width: 40rem; overflow-wrap: anywhere; }
"""


def document(title: str, body: str) -> str:
    """A whole page: ``title`` (plain text) and ``body`` (already escaped HTML), with the style sheet."""
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
            body,
            "</body></html>",
        ]
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], css_class: str = "") -> str:
    """A table of already-escaped cells under a plain-text ``header``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    opening = f'<table class="{escape(css_class)}">' if css_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def num(value: Any, spec: str = ".4g") -> str:
    """A number in tabular figures, "–" for None."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return f'<span class="num">{value}</span>'
    return f'<span class="num">{format(value, spec)}</span>'


def status(text: str) -> str:
    """A verdict (ok, warn, fail, passed, failed) in its colour."""
    return f'<span class="{escape(text)}">{escape(text)}</span>'


def external(url: str, label: str) -> str:
    """A link out of the page (MLflow), in a new tab: MLflow's UI may refuse to be framed."""
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(label)}</a>'


def missing(reason: str) -> str:
    """The sentence a section shows instead of its content."""
    return f'<p class="missing">{escape(reason)}</p>'
