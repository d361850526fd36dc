"""Inline SVG line charts of drift over runs, written as text (no plotting library, no JavaScript).

One small chart per feature: its Jensen-Shannon distance at each run (x: when the run scored it,
to scale), dashed lines at its warn and fail thresholds, and one dot per run coloured by verdict
whose tooltip (``<title>``) names the run. Every text is HTML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from fti.ui.views import DriftSeries

#: Colours of the verdicts (and of the threshold lines of the same name).
STATUS_COLOURS = {"ok": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828"}
LINE_COLOUR = "#1565c0"


@dataclass(frozen=True)
class Frame:
    """Size of a chart and the margins around its plot area, in pixels."""

    width: int = 320
    height: int = 170
    left: int = 40
    right: int = 12
    top: int = 26
    bottom: int = 24

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


def y_limit(series: DriftSeries, cap: float | None = 1.0) -> float:
    """Top of the y axis: room above the fail threshold and the largest value, at most ``cap`` (if any)."""
    largest = max(p.distance for p in series.points)
    top = max(series.fail * 1.2, largest * 1.1, 0.05)
    return top if cap is None else min(cap, top)


def x_positions(times: list[datetime], frame: Frame) -> list[float]:
    """x of each time, to scale between the first and the last; a single time sits in the middle."""
    first, last = min(times), max(times)
    span = (last - first).total_seconds()
    if span <= 0:
        return [frame.left + frame.plot_width / 2] * len(times)
    return [frame.left + frame.plot_width * (t - first).total_seconds() / span for t in times]


def drift_chart(
    series: DriftSeries, frame: Frame = Frame(), cap: float | None = 1.0, day_label: str = "feature day"
) -> str:
    """The ``<svg>`` of one feature's distance over the runs, with its warn and fail lines.

    Any series of values over runs with a warn and a fail line draws the same way (the control room's
    realized error per horizon does): ``cap`` bounds the y axis (None: no bound), ``day_label`` names
    the point's day in its tooltip.
    """
    top = y_limit(series, cap)

    def y(value: float) -> float:
        return frame.top + frame.plot_height * (1 - min(value, top) / top)

    xs = x_positions([p.at for p in series.points], frame)
    ys = [y(p.distance) for p in series.points]
    latest = series.latest
    title = f"{series.feature}: {latest.distance:.3f} ({latest.status}) at run {latest.run_id}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="drift-chart" width="{frame.width}" '
        f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{escape(title)}" data-feature="{escape(series.feature)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{frame.left}" y="16" class="chart-title">{escape(series.feature)}</text>',
        _axes(frame, top),
        _threshold("warn", series.warn, y(series.warn), frame, top),
        _threshold("fail", series.fail, y(series.fail), frame, top),
        f'<polyline fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5" '
        f'points="{" ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs, ys, strict=True))}"/>',
    ]
    for point, x, v in zip(series.points, xs, ys, strict=True):
        colour = STATUS_COLOURS.get(point.status, "#616161")
        tip = f"run {point.run_id} · {day_label} {point.feature_day} · {point.distance:.3f} ({point.status})"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{v:.1f}" r="3" fill="{colour}"><title>{escape(tip)}</title></circle>'
        )
    parts.append(_time_labels(series, frame))
    parts.append("</svg>")
    return "\n".join(parts)


def _axes(frame: Frame, top: float) -> str:
    x0, y0, y1 = frame.left, frame.top + frame.plot_height, frame.top
    x1 = frame.left + frame.plot_width
    return (
        f'<g class="axes" stroke="#9e9e9e" stroke-width="1">'
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/></g>'
        f'<text x="{x0 - 4}" y="{y0}" text-anchor="end" class="tick">0</text>'
        f'<text x="{x0 - 4}" y="{y1 + 8}" text-anchor="end" class="tick">{top:.2f}</text>'
    )


def _threshold(name: str, value: float, y: float, frame: Frame, top: float) -> str:
    """A dashed horizontal line at a threshold, labelled; nothing when it is above the y axis."""
    if value > top:
        return ""
    colour = STATUS_COLOURS[name]
    x0, x1 = frame.left, frame.left + frame.plot_width
    return (
        f'<line class="threshold threshold-{name}" x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" '
        f'stroke="{colour}" stroke-width="1" stroke-dasharray="4 3" data-value="{value:g}"/>'
        f'<text x="{x1}" y="{y - 3:.1f}" text-anchor="end" class="tick" fill="{colour}">'
        f"{name} {value:g}</text>"
    )


def _time_labels(series: DriftSeries, frame: Frame) -> str:
    """The first and last run times under the x axis (one label when they are the same day)."""
    first, last = series.points[0].at, series.points[-1].at
    y = frame.height - 6
    left = f'<text x="{frame.left}" y="{y}" class="tick">{escape(f"{first:%Y-%m-%d %H:%M}")}</text>'
    if first == last:
        return left
    right = frame.left + frame.plot_width
    label = escape(f"{last:%Y-%m-%d %H:%M}")
    return f'{left}<text x="{right}" y="{y}" text-anchor="end" class="tick">{label}</text>'
