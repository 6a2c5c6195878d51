"""The broker as the ops pages see it: queue depths, service health read from consumers, and
dead letters (read, replay), over the gateway's own bus connection.

Each call opens channels of its own on that connection and closes them (servicekit's
`queue_depths` and `dead_letters` do), so a missing queue or a failed replay never touches the
channels the gateway publishes and consumes on; no second connection per replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aio_pika.abc import AbstractConnection
from aiohttp import web

from gateway.dashboard.charts import Bar, Tone
from servicekit.bus import Bus
from servicekit.dead_letters import (
    DeadLetter,
    ReplayReport,
    inspect_dead_letters,
    replay_dead_letters,
)
from servicekit.ops_cli import PLATFORM_SERVICES
from servicekit.queue_depths import QueueDepth, queue_depths
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology

SHOWN_DEAD_LETTERS = 50
"""Dead letters listed on a page (the others stay in the queue, counted by its depth)."""
REPLAY_LIMIT = 500
"""Dead letters one replay examines at most."""
WATCHED_SERVICES = tuple(name for name in PLATFORM_SERVICES if name != "gateway")
"""Services whose durable queues tell whether they run (the gateway has none: it consumes only
per-process broadcast queues, and this page is its own answer)."""

Health = Literal["up", "down", "absent"]


@dataclass(frozen=True)
class Broker:
    """What the ops pages need to reach the broker."""

    bus: Bus
    topology: Topology
    retry_delays_ms: tuple[int, ...]
    timeout: float

    @classmethod
    def of(cls, bus: Bus, settings: ServiceSettings) -> Broker:
        """From the gateway's bus and settings."""
        return cls(
            bus=bus,
            topology=bus.topology,
            retry_delays_ms=tuple(settings.retry_delays_ms),
            timeout=settings.query_timeout_seconds,
        )

    @property
    def connection(self) -> AbstractConnection:
        """The gateway's live connection."""
        return self.bus.connection

    async def depths(self, services: Sequence[str]) -> list[QueueDepth]:
        """Every queue of `services`, as the broker counts it now."""
        async with asyncio.timeout(self.timeout):
            return await queue_depths(
                self.connection, self.topology, services, retry_delays_ms=self.retry_delays_ms
            )

    async def dead_letters(self, service: str) -> list[DeadLetter]:
        """The first dead letters of a service, metadata only (bodies may hold personal data);
        raises DeadLetterQueueMissing."""
        async with asyncio.timeout(self.timeout):
            return await inspect_dead_letters(
                self.connection, self.topology, service, SHOWN_DEAD_LETTERS, bodies=False
            )

    async def replay(self, service: str, message_ids: list[str] | None) -> ReplayReport:
        """Replay those dead letters (every one when None); raises DeadLetterQueueMissing."""
        return await replay_dead_letters(
            self.connection, self.topology, service, message_ids, REPLAY_LIMIT
        )


BROKER: web.AppKey[Broker] = web.AppKey("dashboard_ops_broker", Broker)


@dataclass(frozen=True)
class ServiceHealth:
    """Whether a service runs: a consumer on any of its durable queues means it does."""

    service: str
    health: Health
    consumers: int
    waiting: int
    dead_letters: int


def health_of(service: str, depths: Sequence[QueueDepth]) -> ServiceHealth:
    """A service's health from its queues: up with a consumer, down when its queues exist but
    nobody consumes them, absent when it never declared any."""
    own = [depth for depth in depths if depth.service == service and depth.present]
    consumers = sum(d.consumers or 0 for d in own if d.kind in {"main", "queries"})
    waiting = sum(d.messages or 0 for d in own if d.kind in {"main", "queries"})
    dead = sum(d.messages or 0 for d in own if d.holds_dead_letters)
    health: Health = "up" if consumers else ("down" if own else "absent")
    return ServiceHealth(service, health, consumers, waiting, dead)


def depth_bars(depths: Sequence[QueueDepth]) -> list[Bar]:
    """One bar per present queue: its ready messages; dead letters in the alert tone."""
    return [
        Bar(label=depth.name, value=depth.messages or 0, tone=_tone(depth))
        for depth in depths
        if depth.present
    ]


def _tone(depth: QueueDepth) -> Tone:
    if depth.holds_dead_letters:
        return "alert" if depth.messages else "muted"
    return "normal"
