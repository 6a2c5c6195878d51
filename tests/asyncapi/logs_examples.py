"""Wire examples of the logs contracts (shipped technical records): one real instance of each,
as JSON input, for the AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"

LOGS_EXAMPLES: dict[str, dict[str, Any]] = {
    "logs.technical_records.v1": {
        "records": [
            {
                "at": WHEN,
                "service": "accounts",
                "level": "info",
                "event": "dashboard_sign_in",
                "correlation_id": "req_01m8c0000000000000000000",
                "request_id": "req_01m8c0000000000000000000",
                "partner_id": "ptn_1",
                "user_id": "usr_1",
                "email": "ada@example.com",
                "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0",
                "fields": {"method": "password", "attempt": 1, "mfa": False},
            },
            {
                "at": WHEN,
                "service": "provisioning",
                "level": "warning",
                "event": "handler_failed_will_retry",
                "logger": "aio_pika.robust_connection",
                "message_type": "provisioning.order_requested.v1",
                "fields": {"delay_ms": 1000, "error": "TimeoutError()"},
            },
        ]
    },
}
