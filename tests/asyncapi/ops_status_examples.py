"""Wire examples of the ops status contracts (status reports, the retention overview): one
real instance of each, as JSON input, for the AsyncAPI payload checks."""

from typing import Any

OPS_STATUS_EXAMPLES: dict[str, dict[str, Any]] = {
    "ops.service_status_reported.v1": {
        "service": "provisioning",
        "instance": "inst_01m8dwtehthka4jc0spx65qkj2",
        "reported_at": "2026-11-27T07:00:10Z",
        "interval_seconds": 10,
        "messages_published": 1200,
        "messages_consumed": {"handled": 950, "duplicate": 2, "retried": 3, "dead_lettered": 0},
        "outbox_backlog": 4,
        "http_requests": {"2xx": 310, "3xx": 0, "4xx": 12, "5xx": 1},
        "http_latency": {"bounds_seconds": [0.01, 0.1, 1.0], "cumulative": [250, 318, 322, 323]},
        "counters": {"webhook_deliveries": {"delivered": 40, "failed": 3, "exhausted": 1}},
    },
    "privacy.get_retention_overview.v1": {"actor": {"kind": "user", "id": "usr_1", "role": "ops"}},
    "privacy.retention_overview.v1": {
        "services": [
            {
                "service": "accounts",
                "rules": [{"name": "login_history", "retention": "90 days.", "retention_days": 90}],
                "latest_sweep": {
                    "swept_at": "2026-11-27T03:00:00Z",
                    "removed": {"login_history": 120},
                    "partners_erased": 0,
                },
            },
            {"service": "logs", "rules": [], "latest_sweep": None},
        ]
    },
}
