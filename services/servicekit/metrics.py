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
INBOX_BATCH_MESSAGES = Histogram(
    "inbox_batch_messages",
    "Message ids one inbox round trip to the store carried (lookup or record).",
    ["operation"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
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


class TypeMetrics:
    """The labelled children of one consumed message type, looked up once, not per message
    (a `labels()` lookup costs a few microseconds on the consumer's hot path)."""

    def __init__(self, service: str, message_type: str) -> None:
        self.handled = MESSAGES_CONSUMED.labels(service, message_type, "handled")
        self.duplicate = MESSAGES_CONSUMED.labels(service, message_type, "duplicate")
        self.handler_seconds = HANDLER_SECONDS.labels(service, message_type)
