"""What an operator sees of a dead letter: its envelope read from the headers the consumer and
the broker put on it (`x-death-reason`, `x-attempt`, `x-death`, `x-replay-count`), and its body
only when asked for (bodies may hold personal data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from aio_pika.abc import AbstractIncomingMessage, HeadersType
from pydantic import BaseModel, Field

from servicekit.messages import ATTEMPT_HEADER, DEATH_REASON_HEADER, DELIVERY_COUNT_HEADER

BODY_TEXT_LIMIT = 4096
"""Largest body (bytes) shown as text; larger ones are summarised by their size only."""
REPLAYED_AT_HEADER = "x-replayed-at"
REPLAY_COUNT_HEADER = "x-replay-count"

Taken = AbstractIncomingMessage
"""A message taken from the DLQ and held unacknowledged until settled."""


class DeadLetter(BaseModel):
    """One dead letter as an operator sees it; metadata only unless bodies were asked for."""

    message_id: str | None = Field(description="The message id (replay selects by it).")
    type: str | None = Field(description="Message type.", examples=["accounts.top_up.v1"])
    reason: str | None = Field(description="Why it died: the consumer's reason, else the broker's.")
    queue: str = Field(description="The queue it died in.", examples=["esim.accounts"])
    routing_key: str | None = Field(
        description="The routing key it had in that queue, when the broker dead-lettered it"
        " (x-death; e.g. past the delivery limit); a message the consumer dead-lettered after"
        " retries has none."
    )
    death_count: int = Field(
        description="Times the broker dead-lettered it (x-death counts, retry hops excluded)."
    )
    attempts: int | None = Field(description="Handler attempts before the consumer gave up.")
    replays: int = Field(description="Times it was replayed before.")
    timestamp: datetime | None = Field(description="When it was first published (UTC).")
    body_bytes: int
    body_text: str | None = Field(
        default=None, description="The body, when asked for and small, valid UTF-8."
    )


def dead_letter_of(message: Taken, *, bodies: bool = False) -> DeadLetter:
    """What an operator sees of a dead letter; the body text only with `bodies`."""
    headers = message.headers or {}
    deaths = _deaths(headers)
    first = deaths[0] if deaths else {}
    broker_reason = _text(first.get("reason"))
    routing_keys = first.get("routing-keys")
    return DeadLetter(
        message_id=message.message_id or None,
        type=message.type or None,
        reason=_text(headers.get(DEATH_REASON_HEADER))
        or (f"broker: {broker_reason}" if broker_reason else None),
        queue=message.routing_key or _text(first.get("queue")) or "",
        routing_key=_text(routing_keys[0])
        if isinstance(routing_keys, list) and routing_keys
        else None,
        death_count=sum(header_int(death.get("count")) for death in deaths),
        attempts=header_int(headers.get(ATTEMPT_HEADER)) or None,
        replays=header_int(headers.get(REPLAY_COUNT_HEADER)),
        timestamp=_utc(message.timestamp),
        body_bytes=len(message.body),
        body_text=_body_text(message.body) if bodies else None,
    )


def delivery_count(message: Taken) -> int:
    """How often a quorum queue delivered the message before (its x-delivery-count)."""
    return header_int((message.headers or {}).get(DELIVERY_COUNT_HEADER))


def header_int(value: object) -> int:
    """An integer header, 0 when absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _deaths(headers: HeadersType) -> list[Mapping[str, object]]:
    """The broker's dead-letterings of the message, newest first, without the hops through
    retry queues (which dead-letter back to the service's queue as `expired`)."""
    deaths = headers.get("x-death")
    if not isinstance(deaths, list):
        return []
    return [d for d in deaths if isinstance(d, dict) and _text(d.get("reason")) != "expired"]


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) and value else None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _body_text(body: bytes) -> str | None:
    if len(body) > BODY_TEXT_LIMIT:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None
