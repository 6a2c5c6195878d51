"""The Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_PUBLISHED = Counter(
    "bus_messages_published_total", "Messages published with a broker confirm.", ["service", "type"]
)
MESSAGES_CONSUMED = Counter(
    "bus_messages_consumed_total",
    "Messages consumed, by outcome (handled, duplicate, retried, dead_lettered).",
    ["service", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "bus_handler_seconds", "Time spent in message handlers.", ["service", "type"]
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_documents", "Documents holding messages not yet published.", ["service"]
)
HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served.", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "http_request_seconds", "HTTP request latency.", ["service", "method", "route"]
)
LOG_RECORDS_DROPPED = Counter(
    "log_records_dropped_total",
    "Log records not shipped to the logs service (buffer full, or not a valid record).",
    ["service"],
)
