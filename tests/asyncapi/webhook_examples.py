"""Wire examples of the webhook contracts: one real instance of each, as JSON input, for the
AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"
PARTNER = "ptn_01jb3k5x2v9q8r7t6s5p4n3m2k"
ENDPOINT_ID = "whe_01jb3k5x2v9q8r7t6s5p4n3m2k"
DELIVERY_ID = "msg_01jb3k5x2v9q8r7t6s5p4n3m2k"
ACTOR = {
    "kind": "api_key",
    "id": "key_01jb3k5x2v9q8r7t6s5p4n3m2k",
    "partner_id": PARTNER,
    "scopes": ["webhooks:manage"],
}
OWN = {"actor": ACTOR, "partner_id": PARTNER}
ENDPOINT = {
    "id": ENDPOINT_ID,
    "url": "https://partner.example/webhooks",
    "event_types": ["order.completed", "balance.low"],
    "enabled": True,
    "mode": "live",
    "created_at": WHEN,
}
DELIVERY = {
    "id": DELIVERY_ID,
    "endpoint_id": ENDPOINT_ID,
    "event_type": "order.completed",
    "status": "failed",
    "attempts": 1,
    "created_at": WHEN,
    "next_attempt_at": WHEN,
    "last_response_code": 503,
    "last_latency_ms": 182,
    "last_error": "http_503",
}

WEBHOOK_EXAMPLES: dict[str, dict[str, Any]] = {
    "provisioning.webhook_endpoint.v1": ENDPOINT,
    "provisioning.new_webhook_secret.v1": {
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "endpoint": ENDPOINT,
    },
    "provisioning.webhook_endpoint_page.v1": {"data": [ENDPOINT]},
    "provisioning.webhook_delivery.v1": DELIVERY,
    "provisioning.webhook_delivery_page.v1": {"data": [DELIVERY], "next_cursor": DELIVERY_ID},
    "provisioning.create_webhook_endpoint.v1": {
        **OWN,
        "url": "https://partner.example/webhooks",
        "event_types": ["order.completed"],
        "mode": "live",
    },
    "provisioning.list_webhook_endpoints.v1": OWN,
    "provisioning.get_webhook_endpoint.v1": {**OWN, "endpoint_id": ENDPOINT_ID},
    "provisioning.update_webhook_endpoint.v1": {
        **OWN,
        "endpoint_id": ENDPOINT_ID,
        "enabled": False,
    },
    "provisioning.delete_webhook_endpoint.v1": {**OWN, "endpoint_id": ENDPOINT_ID},
    "provisioning.rotate_webhook_secret.v1": {**OWN, "endpoint_id": ENDPOINT_ID},
    "provisioning.send_test_webhook.v1": {**OWN, "endpoint_id": ENDPOINT_ID},
    "provisioning.list_webhook_deliveries.v1": {**OWN, "status": "exhausted", "limit": 20},
    "provisioning.replay_webhook_delivery.v1": {**OWN, "delivery_id": DELIVERY_ID},
    "provisioning.webhook_endpoint_disabled.v1": {
        "partner_id": PARTNER,
        "endpoint_id": ENDPOINT_ID,
        "consecutive_failures": 5,
        "disabled_at": WHEN,
    },
}
