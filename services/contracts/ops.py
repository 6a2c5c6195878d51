"""Ops contracts: every service process's periodic status report, for the ops dashboard.

Reports carry cumulative counters read from the process's own Prometheus registry (never
deltas), so a lost report costs only resolution; a restarted process reports under a new
`instance` and starts again from zero.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Event

MAX_LATENCY_BUCKETS = 64
MAX_REPORTED_COUNTERS = 32
MAX_COUNTER_SERIES = 64


class LatencyHistogram(BaseModel):
    """HTTP request latency of one process, summed over its routes: Prometheus histogram
    buckets as cumulative counts (each counts requests at most as slow as its bound)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bounds_seconds: list[float] = Field(
        max_length=MAX_LATENCY_BUCKETS,
        description="The finite upper bounds, ascending.",
        examples=[[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]],
    )
    cumulative: list[int] = Field(
        max_length=MAX_LATENCY_BUCKETS + 1,
        description="Requests at most as slow as each bound, then the total (the `+Inf`"
        " bucket): one more entry than `bounds_seconds`.",
    )


class ServiceStatusReported(Event):
    """One service process's cumulative counters, broadcast every `STATUS_REPORT_SECONDS`.

    Counters only: no ids, no personal data, no message bodies. The gateway's replicas keep
    the recent reports in memory for the ops pages.
    """

    TYPE: ClassVar[str] = "ops.service_status_reported.v1"

    service: str = Field(max_length=64, examples=["accounts"])
    instance: str = Field(
        max_length=64, description="This process's id, new at every start.", examples=["inst_7Gf"]
    )
    reported_at: datetime = Field(description="When the counters were read (UTC).")
    interval_seconds: float = Field(gt=0, description="How often this process reports.")
    messages_published: int = Field(
        ge=0, description="Messages published with a broker confirm (these reports excluded)."
    )
    messages_consumed: dict[str, int] = Field(
        description="Messages consumed by outcome: handled, duplicate, retried, dead_lettered.",
        examples=[{"handled": 120, "duplicate": 1, "retried": 3, "dead_lettered": 0}],
    )
    outbox_backlog: int | None = Field(
        default=None, ge=0, description="Outbox documents not yet published (absent: no outbox)."
    )
    http_requests: dict[str, int] = Field(
        description="HTTP requests served by status class.",
        examples=[{"2xx": 950, "3xx": 2, "4xx": 40, "5xx": 1}],
    )
    http_latency: LatencyHistogram
    counters: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        max_length=MAX_REPORTED_COUNTERS,
        description="The service's own reported counters: name → label value → count (several"
        f" labels joined by `,`; at most {MAX_COUNTER_SERIES} label values per counter).",
        examples=[{"webhook_deliveries": {"delivered": 40, "failed": 3, "exhausted": 0}}],
    )
