"""Turning contracts into AMQP messages and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from contracts import Contract


@dataclass(frozen=True)
class Outgoing:
    """A message ready to publish (or to keep in an outbox until it is published)."""

    exchange: str
    routing_key: str
    message_id: str
    correlation_id: str
    type: str
    body: bytes
    occurred_at: datetime
    producer: str

    def to_amqp(
        self, *, persistent: bool = True, headers: dict[str, Any] | None = None
    ) -> aio_pika.Message:
        """The AMQP message: JSON body, envelope in the properties."""
        return aio_pika.Message(
            body=self.body,
            content_type="application/json",
            delivery_mode=(
                aio_pika.DeliveryMode.PERSISTENT
                if persistent
                else aio_pika.DeliveryMode.NOT_PERSISTENT
            ),
            message_id=self.message_id,
            correlation_id=self.correlation_id,
            type=self.type,
            timestamp=self.occurred_at,
            app_id=self.producer,
            headers=headers or {},
        )

    def to_document(self) -> dict[str, Any]:
        """The outbox form, stored inside the document whose change produced it."""
        return {
            "message_id": self.message_id,
            "exchange": self.exchange,
            "routing_key": self.routing_key,
            "correlation_id": self.correlation_id,
            "type": self.type,
            "body": self.body.decode(),
            "occurred_at": self.occurred_at,
            "producer": self.producer,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Outgoing:
        """Rebuild an outgoing message from its outbox form."""
        occurred_at: datetime = document["occurred_at"]
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        return cls(
            exchange=document["exchange"],
            routing_key=document["routing_key"],
            message_id=document["message_id"],
            correlation_id=document["correlation_id"],
            type=document["type"],
            body=document["body"].encode(),
            occurred_at=occurred_at,
            producer=document["producer"],
        )


@dataclass(frozen=True)
class MessageContext:
    """What a handler knows about the message it handles, besides its body."""

    message_id: str
    correlation_id: str
    type: str
    producer: str
    attempt: int
    final_attempt: bool


def encode(contract: Contract) -> bytes:
    """The wire body of a contract."""
    return contract.model_dump_json().encode()


def context_of(
    message: AbstractIncomingMessage, *, attempt: int, final_attempt: bool
) -> MessageContext:
    """The handler's view of an incoming message's envelope."""
    return MessageContext(
        message_id=message.message_id or "",
        correlation_id=message.correlation_id or message.message_id or "",
        type=message.type or "",
        producer=message.app_id or "",
        attempt=attempt,
        final_attempt=final_attempt,
    )
