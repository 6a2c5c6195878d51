"""Wire examples of the log ingest contracts (shipped technical records, batches of API request
records): one real instance of each, as JSON input, for the AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"

LOGS_EXAMPLES: dict[str, dict[str, Any]] = {
    "gateway.api_requests_logged.v1": {
        "records": [
            {
                "request_id": "req_1",
                "partner_id": "ptn_1",
                "key_id": "key_1",
                "method": "POST",
                "route": "/v1/orders/{id}",
                "path": "/v1/orders/ord_1",
                "status": 201,
                "duration_ms": 12.5,
                "ip": "203.0.113.7",
                "user_agent": "curl/8.5.0",
                "received_at": WHEN,
                "request_bytes": 120,
                "response_bytes": 840,
            },
            {
                "request_id": "req_2",
                "method": "GET",
                "route": "/v1/packages",
                "path": "/v1/packages",
                "status": 401,
                "duration_ms": 0.8,
                "ip": "2001:db8::1",
                "received_at": WHEN,
            },
        ]
    },
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
