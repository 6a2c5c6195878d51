"""Helpers of the log ingest tests: settings with keys, the vault the service seals with, and
reads of what the service stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from bson import json_util
from prometheus_client import REGISTRY

from logs import store
from logs.settings import LogsSettings
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from servicekit.vault import Vault
from support.waiting import eventually

Doc = dict[str, Any]


def logs_settings(base: ServiceSettings, **overrides: Any) -> LogsSettings:
    """Logs settings for a test namespace, with fresh keys."""
    values = {
        **base.model_dump(),
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        **overrides,
    }
    return LogsSettings.model_validate(values)


@dataclass
class Ingest:
    """The running logs service and a publisher on its bus."""

    settings: LogsSettings
    service: Service
    publisher: Service

    @property
    def vault(self) -> Vault:
        """A vault over the service's keys, as the service builds it."""
        encryption = self.settings.encryption()
        assert encryption is not None
        return Vault.from_settings(self.service.db, encryption)

    async def documents(self, collection: str, query: Doc | None = None) -> list[Doc]:
        """The stored documents of a collection, by `_id`."""
        cursor = self.service.db[collection].find(query or {}).sort("_id", 1)
        return [document async for document in cursor]

    async def stored(self, collection: str, count: int, query: Doc | None = None) -> list[Doc]:
        """Wait until `count` documents match, and return them."""

        async def probe() -> list[Doc]:
            found = await self.documents(collection, query)
            return found if len(found) >= count else []

        return await eventually(probe, what=f"{count} documents in {collection}")


def raw_text(documents: list[Doc]) -> str:
    """Every stored byte of the documents, as text, to look for plaintext in."""
    return json_util.dumps(documents)


async def dead_letter(settings: ServiceSettings, service: str) -> AbstractIncomingMessage:
    """Wait for the next dead letter of a service's queue."""
    topology = Topology(settings.bus_namespace)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(topology.dead_letter_queue(topology.service_queue(service)))

        async def take() -> AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        return await eventually(take, what="a dead letter")


async def publish_raw(
    settings: ServiceSettings, message_type: str, body: Doc, message_id: str
) -> None:
    """Publish an event body as it is, unchecked by any contract."""
    topology = Topology(settings.bus_namespace)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(topology.events)
        message = aio_pika.Message(
            body=json.dumps(body).encode(),
            content_type="application/json",
            message_id=message_id,
            correlation_id=message_id,
            type=message_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=message_type)


def consumed(message_type: str, outcomes: tuple[str, ...] = ("handled", "duplicate")) -> float:
    """How many messages of a type the logs service consumed with these outcomes (acked)."""
    return sum(
        REGISTRY.get_sample_value(
            "bus_messages_consumed_total",
            {"service": "logs", "type": message_type, "outcome": outcome},
        )
        or 0
        for outcome in outcomes
    )


API_REQUESTS = store.API_REQUESTS
TECHNICAL = store.TECHNICAL
