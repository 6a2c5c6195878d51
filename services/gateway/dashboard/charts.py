"""Charts as inline SVG, drawn on the server (the dashboard runs no script): horizontal bars
for counts by name, columns for a series over time.

Only SVG attributes and CSS classes (`chart`, `bar`, `bar-<tone>`, `chart-label`,
`chart-value`): the CSP forbids inline style attributes. Every label is escaped here
(Markup.format), since the markup reaches the template as safe HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

Tone = Literal["normal", "good", "warn", "alert", "muted"]

WIDTH = 640
ROW_HEIGHT = 24
BAR_HEIGHT = 16
LABEL_WIDTH = 240
VALUE_WIDTH = 64
LABEL_MAX = 40
"""Labels longer than this many characters are shortened (the full one is the bar's title)."""


@dataclass(frozen=True)
class Bar:
    """One row of a chart: what it counts, how many, and its tone (a CSS class)."""

    label: str
    value: int
    tone: Tone = "normal"


def bar_chart(bars: Sequence[Bar], *, title: str) -> Markup:
    """An SVG chart with one horizontal bar per row, scaled to the largest value; the title
    is the chart's accessible name. An empty chart says so."""
    height = max(len(bars), 1) * ROW_HEIGHT
    head = Markup(
        '<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}"'
        ' height="{height}" aria-label="{title}"><title>{title}</title>'
    ).format(width=WIDTH, height=height, title=title)
    if not bars:
        empty = Markup('<text class="chart-label" x="0" y="{y}">No data</text>')
        return head + empty.format(y=ROW_HEIGHT - 8) + Markup("</svg>")
    largest = max(max(bar.value for bar in bars), 1)
    rows = Markup("").join(_row(index, bar, largest) for index, bar in enumerate(bars))
    return head + rows + Markup("</svg>")


def _row(index: int, bar: Bar, largest: int) -> Markup:
    """One bar; Markup.format escapes the label."""
    top = index * ROW_HEIGHT
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    length = round(span * max(bar.value, 0) / largest)
    if bar.value > 0:
        length = max(length, 1)  # a non-zero count stays visible
    label = bar.label if len(bar.label) <= LABEL_MAX else bar.label[: LABEL_MAX - 1] + "…"
    return Markup(
        "<g><title>{full}: {value}</title>"
        '<text class="chart-label" x="{label_x}" y="{text_y}" text-anchor="end">{label}</text>'
        '<rect class="bar bar-{tone}" x="{bar_x}" y="{bar_y}" width="{length}"'
        ' height="{bar_height}"></rect>'
        '<text class="chart-value" x="{value_x}" y="{text_y}">{value}</text></g>'
    ).format(
        full=bar.label,
        value=bar.value,
        label_x=LABEL_WIDTH - 8,
        text_y=top + BAR_HEIGHT - 2,
        label=label,
        tone=bar.tone,
        bar_x=LABEL_WIDTH,
        bar_y=top + 2,
        length=length,
        bar_height=BAR_HEIGHT,
        value_x=LABEL_WIDTH + length + 6,
    )


COLUMNS_HEIGHT = 160
AXIS_HEIGHT = 18
"""Room under the columns for the first and last point's labels."""
SCALE_WIDTH = 72
"""Room left of the columns for the largest value."""


@dataclass(frozen=True)
class Point:
    """One column of a series: when (or what) it is, its value, and its tone."""

    label: str
    value: float
    tone: Tone = "normal"


def figure(value: float) -> str:
    """A value as a person reads it on a chart: whole numbers plain, others with up to three
    significant digits (0.0123, 1.5, 42.3, 1230)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1000 else str(round(value))


def column_chart(points: Sequence[Point], *, title: str, unit: str = "") -> Markup:
    """An SVG chart with one vertical column per point (oldest first), scaled to the largest
    value, labelled at both ends; each column's title tells its label and value. `unit`
    follows every value shown (e.g. " ms", "/s"). An empty chart says so."""
    height = COLUMNS_HEIGHT + AXIS_HEIGHT
    head = Markup(
        '<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}"'
        ' height="{height}" aria-label="{title}"><title>{title}</title>'
    ).format(width=WIDTH, height=height, title=title)
    if not points:
        empty = Markup('<text class="chart-label" x="0" y="{y}">No data</text>')
        return head + empty.format(y=ROW_HEIGHT - 8) + Markup("</svg>")
    largest = max(max(point.value for point in points), 0.0)
    scale = Markup(
        '<text class="chart-value" x="{x}" y="12" text-anchor="end">{top}{unit}</text>'
        '<text class="chart-value" x="{x}" y="{bottom}" text-anchor="end">0</text>'
    ).format(x=SCALE_WIDTH - 6, top=figure(largest), unit=unit, bottom=COLUMNS_HEIGHT)
    step = (WIDTH - SCALE_WIDTH) / len(points)
    columns = Markup("").join(
        _column(index, point, largest or 1.0, step, unit) for index, point in enumerate(points)
    )
    ends = Markup(
        '<text class="chart-label" x="{first_x}" y="{y}">{first}</text>'
        '<text class="chart-label" x="{last_x}" y="{y}" text-anchor="end">{last}</text>'
    ).format(
        first_x=SCALE_WIDTH,
        last_x=WIDTH,
        y=height - 4,
        first=points[0].label,
        last=points[-1].label if len(points) > 1 else "",
    )
    return head + scale + columns + ends + Markup("</svg>")


def _column(index: int, point: Point, largest: float, step: float, unit: str) -> Markup:
    """One column; Markup.format escapes the label."""
    length = round(COLUMNS_HEIGHT * max(point.value, 0.0) / largest)
    if point.value > 0:
        length = max(length, 1)  # a non-zero value stays visible
    return Markup(
        '<g><title>{label}: {value}{unit}</title><rect class="bar bar-{tone}" x="{x}" y="{y}"'
        ' width="{width}" height="{length}"></rect></g>'
    ).format(
        label=point.label,
        value=figure(point.value),
        unit=unit,
        tone=point.tone,
        x=round(SCALE_WIDTH + index * step + step * 0.1, 1),
        y=COLUMNS_HEIGHT - length,
        width=round(max(step * 0.8, 1.0), 1),
        length=length,
    )
