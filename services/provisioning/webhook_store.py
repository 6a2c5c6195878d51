"""Webhook collections, their indexes, and the views of their documents.

- `webhook_endpoints`: `status` is `enabled`/`disabled` (a string: see decision 0002), the
  secret sealed per partner, a rotated-out secret as `previous: {secret, until}`.
- `webhook_deliveries`: `_id` is the `webhook-id`; `next: {at}` is when it is due (a claim
  moves it forward by the lease); `last: {...}` is the last attempt's outcome.
- `webhook_attempts`: one inserted document per attempt (never pushed into the delivery).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.webhooks import WebhookDeliveryView, WebhookEndpointView, WebhookEventType
from servicekit.outbox import with_outbox

ENDPOINTS = "webhook_endpoints"
DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_attempts"

MAX_ENDPOINTS_PER_PARTNER = 50

Document = dict[str, Any]


async def create_indexes(db: Any) -> None:
    """Lookups by partner, due time and idempotency key are indexed."""
    await db[ENDPOINTS].create_index("partner_id")
    await db[ENDPOINTS].create_index("request_id", unique=True)
    await db[DELIVERIES].create_index("key", unique=True)
    await db[DELIVERIES].create_index("partner_id")
    await db[DELIVERIES].create_index([("status", 1), ("next.at", 1)])
    await db[DELIVERIES].create_index("iccid")
    await db[DELIVERIES].create_index("order_id")
    await db[DELIVERIES].create_index("created_at")
    await db[ATTEMPTS].create_index("delivery_id")
    await db[ATTEMPTS].create_index("partner_id")
    await db[ATTEMPTS].create_index("at")


def endpoint_document(
    *,
    endpoint_id: str,
    partner_id: str,
    url: str,
    event_types: list[WebhookEventType],
    mode: str,
    enabled: bool,
    sealed_secret: str,
    request_id: str,
    now: datetime,
) -> Document:
    """A new endpoint (with an empty outbox for its disabling event)."""
    return with_outbox(
        {
            "_id": endpoint_id,
            "partner_id": partner_id,
            "url": url,
            "event_types": [t.value for t in event_types],
            "mode": mode,
            "status": "enabled" if enabled else "disabled",
            "secret": sealed_secret,
            "failures": 0,
            "request_id": request_id,
            "created_at": now,
        }
    )


def endpoint_view(document: Document) -> WebhookEndpointView:
    """The partner's view of an endpoint: never its secret."""
    previous = document.get("previous")
    return WebhookEndpointView(
        id=document["_id"],
        url=document["url"],
        event_types=[WebhookEventType(t) for t in document["event_types"]],
        enabled=document["status"] == "enabled",
        mode=document["mode"],
        created_at=document["created_at"],
        disabled_reason=document.get("disabled", {}).get("reason"),
        secret_overlap_until=previous["until"] if previous else None,
    )


def delivery_document(
    *,
    delivery_id: str,
    partner_id: str,
    endpoint_id: str,
    event_type: str,
    payload: str,
    key: str,
    now: datetime,
    replay_of: str | None = None,
    subject: dict[str, str] | None = None,
) -> Document:
    """A new delivery, due now; `subject` holds the payload's `iccid`/`order_id`, top-level
    and indexed so a privacy request finds the delivery without reading payloads."""
    document: Document = {
        "_id": delivery_id,
        "partner_id": partner_id,
        "endpoint_id": endpoint_id,
        "event_type": event_type,
        "payload": payload,
        "key": key,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next": {"at": now},
    }
    if replay_of is not None:
        document["replay_of"] = replay_of
    document.update(subject or {})
    return document


SUBJECT_FIELDS = ("iccid", "order_id")
"""Payload fields copied onto a delivery so privacy requests can find it by an index."""


def payload_subject(payload: Any) -> dict[str, str]:
    """The payload's subject identifiers (`SUBJECT_FIELDS`) that are set."""
    values = {field: getattr(payload, field, None) for field in SUBJECT_FIELDS}
    return {field: value for field, value in values.items() if isinstance(value, str)}


def stored_subject(document: Document) -> dict[str, str]:
    """The subject identifiers a stored delivery carries (for a replay)."""
    return {field: document[field] for field in SUBJECT_FIELDS if field in document}


def delivery_view(document: Document) -> WebhookDeliveryView:
    """A delivery as the log shows it (the payload is not repeated)."""
    last = document.get("last", {})
    due = document["status"] in ("pending", "failed")
    return WebhookDeliveryView(
        id=document["_id"],
        endpoint_id=document["endpoint_id"],
        event_type=document["event_type"],
        status=document["status"],
        attempts=document["attempts"],
        created_at=document["created_at"],
        next_attempt_at=document["next"]["at"] if due else None,
        last_response_code=last.get("code"),
        last_latency_ms=last.get("latency_ms"),
        last_error=last.get("error"),
        replay_of=document.get("replay_of"),
    )
