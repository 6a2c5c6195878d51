"""The column chart of a series over time: scaled, escaped, labelled at both ends."""

from __future__ import annotations

import re

from gateway.dashboard.charts import COLUMNS_HEIGHT, Point, column_chart, figure


def _heights(svg: str) -> list[int]:
    return [int(h) for h in re.findall(r'<rect [^>]*height="(\d+)"', svg)]


def test_columns_scale_to_the_largest_value_and_keep_small_ones_visible() -> None:
    """The largest value fills the height; a tiny non-zero one still shows; zero shows none."""
    svg = str(column_chart([Point("a", 10.0), Point("b", 0.001), Point("c", 0.0)], title="t"))
    assert _heights(svg) == [COLUMNS_HEIGHT, 1, 0]


def test_column_chart_escapes_labels_and_title() -> None:
    """Labels and the title reach the page escaped, never as markup."""
    svg = str(column_chart([Point("<b>x</b>", 1.0)], title="<script>"))
    assert "<b>" not in svg
    assert "<script>" not in svg
    assert "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "&lt;script&gt;" in svg


def test_column_chart_names_the_first_and_last_point_and_the_top_value() -> None:
    """The axis shows the first and last labels and the largest value with its unit."""
    svg = str(column_chart([Point("06:00", 2.5), Point("06:05", 7.25)], title="t", unit=" ms"))
    assert ">06:00</text>" in svg
    assert ">06:05</text>" in svg
    assert ">7.25 ms</text>" in svg
    assert 'style="' not in svg


def test_empty_column_chart_says_so() -> None:
    """A series without points renders a chart that says there is no data."""
    assert "No data" in str(column_chart([], title="t"))


def test_figures_read_well() -> None:
    """Whole numbers print plain; others with three significant digits; large ones rounded."""
    assert [figure(3.0), figure(0.012345), figure(42.31), figure(1234.5)] == [
        "3",
        "0.0123",
        "42.3",
        "1234",
    ]
