"""Unit checks of the ops pages' pieces: the SVG bar chart, service health from queue depths,
and the data-subject request figures."""

from __future__ import annotations

import re
from datetime import timedelta

from ops_dashboard_support import privacy_request

from contracts.privacy import RequestStatus
from gateway.dashboard.charts import Bar, bar_chart
from gateway.dashboard.ops_queues import health_of
from gateway.dashboard.ops_requests import Collected, request_figures, status_bars
from servicekit.clock import utcnow
from servicekit.queue_depths import QueueDepth


def test_chart_escapes_labels_and_title() -> None:
    """A label or title with markup is drawn as text, never as elements."""
    chart = str(bar_chart([Bar('<script>alert("x")</script>', 3)], title="a <b> & c"))
    assert "<script>" not in chart
    assert "<b>" not in chart
    assert "&lt;script&gt;" in chart
    assert "a &lt;b&gt; &amp; c" in chart


def test_chart_scales_bars_to_the_largest_value() -> None:
    """The largest value gets the full width; a small non-zero one stays visible; zero is 0."""
    chart = str(bar_chart([Bar("big", 1000), Bar("tiny", 1), Bar("none", 0)], title="t"))
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', chart)]
    assert widths[0] > widths[1] >= 1
    assert widths[2] == 0


def test_chart_has_no_inline_style_or_script() -> None:
    """The CSP forbids inline styles and scripts: the chart uses neither."""
    chart = str(bar_chart([Bar("a", 1, "alert")], title="t"))
    assert "style=" not in chart
    assert "<script" not in chart
    assert 'class="bar bar-alert"' in chart


def test_empty_chart_says_so() -> None:
    """A chart without rows still renders, saying there is no data."""
    assert "No data" in str(bar_chart([], title="t"))


def _depth(service: str, kind: str, messages: int, consumers: int) -> QueueDepth:
    return QueueDepth.model_validate(
        {
            "name": f"ns.{service}.{kind}",
            "service": service,
            "kind": kind,
            "present": True,
            "messages": messages,
            "consumers": consumers,
        }
    )


def test_health_reads_consumers_of_a_service_queues() -> None:
    """A consumer means up; queues nobody consumes mean down; no queues mean never started."""
    depths = [
        _depth("accounts", "main", 2, 1),
        _depth("accounts", "dlq", 5, 0),
        _depth("logs", "main", 7, 0),
    ]
    accounts = health_of("accounts", depths)
    assert (accounts.health, accounts.waiting, accounts.dead_letters) == ("up", 2, 5)
    assert health_of("logs", depths).health == "down"
    assert health_of("privacy", depths).health == "absent"


def test_request_figures_count_open_states_and_deadlines() -> None:
    """Open requests are counted by state; overdue and due-soon ones listed, earliest first."""
    now = utcnow()
    overdue = privacy_request(1, RequestStatus.IN_PROGRESS, now, timedelta(days=-1))
    soon = privacy_request(2, RequestStatus.VERIFIED, now, timedelta(days=2))
    later = privacy_request(3, RequestStatus.IN_PROGRESS, now, timedelta(days=25))
    figures = request_figures(
        Collected([overdue, soon, later], capped=False),
        Collected([soon, overdue], capped=True),
        now,
    )
    assert figures.by_status["in_progress"] == 2
    assert figures.by_status["verified"] == 1
    assert "completed" not in figures.by_status
    assert [r.id for r in figures.overdue] == [overdue.id]
    assert [r.id for r in figures.due_soon] == [soon.id]
    assert figures.deadlines_capped
    assert not figures.counts_capped
    assert Bar("in progress", 2) in status_bars(figures.by_status)
