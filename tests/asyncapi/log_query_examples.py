"""Wire examples of the logs query contracts (usage, ops search, analytics), for the AsyncAPI
payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"
LATER = "2026-11-27T00:00:00Z"
STATS = {
    "requests": 40,
    "client_errors": 3,
    "server_errors": 1,
    "error_rate": 0.1,
    "latency_ms": {"p50": 42.5, "p95": 180.0, "p99": 310.2},
}
ROUTE = {"method": "GET", "route": "/v1/orders/{id}", "stats": STATS}
PLATFORM = {"kind": "platform", "id": "ops-dashboard"}

LOG_QUERY_EXAMPLES: dict[str, dict[str, Any]] = {
    "logs.get_api_usage.v1": {
        "actor": {
            "kind": "api_key",
            "id": "key_01jb3k",
            "partner_id": "ptn_demo",
            "scopes": ["usage:read"],
        },
        "partner_id": "ptn_demo",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": LATER,
    },
    "logs.api_usage.v1": {
        "partner_id": "ptn_demo",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": LATER,
        "totals": STATS,
        "routes": [ROUTE],
        "days": [{"day": "2026-11-26", "stats": STATS, "routes": [ROUTE]}],
    },
    "logs.search_logs.v1": {
        "actor": {"kind": "user", "id": "usr_ops1", "role": "ops"},
        "service": "provisioning",
        "level": "error",
        "at_from": "2026-11-26T00:00:00Z",
        "at_to": LATER,
        "limit": 20,
    },
    "logs.log_page.v1": {
        "data": [
            {
                "id": "msg_01jb3k5x2v7q9r8s6t4u2w0y1z:0",
                "at": WHEN,
                "service": "provisioning",
                "level": "error",
                "event": "provider_timeout",
                "logger": "provisioning.purchases",
                "correlation_id": "req_01jb3k5x2v",
                "request_id": "req_01jb3k5x2v",
                "partner_id": "ptn_demo",
                "fields": {"attempt": 2, "order_id": "ord_01jb3k5x2v"},
                "sealed": ["ip"],
            }
        ],
        "next_cursor": "msg_01jb3k5x2v7q9r8s6t4u2w0y1z:0",
    },
    "logs.get_usage_analytics.v1": {
        "actor": PLATFORM,
        "dimension": "country",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": LATER,
    },
    "logs.usage_analytics.v1": {
        "dimension": "country",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": LATER,
        "min_group_size": 5,
        "groups": [{"key": "DE", "count": 120, "quantity": 140, "members": 9}],
        "suppressed_groups": 3,
    },
}
