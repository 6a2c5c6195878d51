"""Horizontal bar charts as inline SVG, drawn on the server (the dashboard runs no script).

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
