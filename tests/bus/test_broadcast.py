"""Broadcast subscriptions: every replica hears every event, bad input is dead-lettered, a
failing handler is logged and never retried, and the subscription survives a reconnect."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest

from servicekit.correlation import bind_correlation_id, current_correlation_id
from servicekit.messages import MessageContext
from servicekit.router import Router
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.messages import CountThing, ThingHappened
from support.services import running
from support.tcpproxy import TcpProxy
from support.waiting import eventually


class Listener:
    """A replica's broadcast handler: records what it heard, fails on request."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.heard: list[int] = []
        self.calls: Counter[int] = Counter()
        self.correlations: list[str] = []
        self.fail_on = fail_on

    async def __call__(self, event: ThingHappened, context: MessageContext) -> None:
        self.calls[event.n] += 1
        self.correlations.append(current_correlation_id())
        assert context.correlation_id == current_correlation_id()
        if event.n == self.fail_on:
            raise RuntimeError("handler broke")
        self.heard.append(event.n)


def replica(settings: ServiceSettings, listener: Listener, name: str = "alpha") -> Service:
    """A stateless replica of `name` that hears ThingHappened as a broadcast."""
    service = Service.create(name, settings, stateless=True)
    service.router.on_broadcast(ThingHappened, listener)
    return service


async def test_every_replica_hears_every_broadcast_while_subscribers_share_events(
    settings: ServiceSettings,
) -> None:
    """Two replicas each hear all five events, under the publisher's correlation id, while
    two replicas of an ordinary subscriber share them (each event handled once)."""
    first, second = Listener(), Listener()
    shared: list[int] = []

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        shared.append(event.n)

    subscribers = [Service.create("beta", settings, stateless=True) for _ in range(2)]
    for subscriber in subscribers:
        subscriber.router.on(ThingHappened, on_thing)
    publisher = Service.create("nobody", settings, stateless=True)
    async with running(
        replica(settings, first), replica(settings, second), *subscribers, publisher
    ):
        bind_correlation_id("cor_broadcast_12345")
        for n in range(5):
            await publisher.bus.publish(ThingHappened(key="k", n=n))
        await eventually(lambda: _heard_all(first, 5), what="first replica heard all")
        await eventually(lambda: _heard_all(second, 5), what="second replica heard all")
        await eventually(lambda: _count(shared, 5), what="the subscribers handled all")
    assert sorted(first.heard) == sorted(second.heard) == list(range(5))
    assert sorted(shared) == list(range(5))
    assert set(first.correlations) == {"cor_broadcast_12345"}


async def _heard_all(listener: Listener, count: int) -> bool:
    return len(listener.heard) >= count


async def _count(values: list[int], count: int) -> bool:
    return len(values) >= count


async def test_a_bad_broadcast_is_dead_lettered_and_a_failing_handler_is_not_retried(
    settings: ServiceSettings,
) -> None:
    """An invalid body lands in the service's broadcast DLQ with its reason; a handler that
    raises is called once for that event and the next events are still handled."""
    listener = Listener(fail_on=1)
    service = replica(settings, listener)
    topology = Topology(settings.bus_namespace)
    async with running(service):
        await service.bus.publish_raw(
            topology.events,
            ThingHappened.TYPE,
            aio_pika.Message(
                body=b'{"key": "k", "n": "not a number"}',
                type=ThingHappened.TYPE,
                message_id="msg_bad_1",
            ),
        )
        for n in (1, 2, 3):
            await service.bus.publish(ThingHappened(key="k", n=n))
        await eventually(lambda: _heard_all(listener, 2), what="events after the failure")
        dead = await _dead_letter(settings, topology)
    assert listener.heard == [2, 3]
    assert listener.calls[1] == 1
    assert dead.message_id == "msg_bad_1"
    assert "invalid body" in str((dead.headers or {})["x-death-reason"])


async def _dead_letter(
    settings: ServiceSettings, topology: Topology
) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            topology.dead_letter_queue(topology.broadcast_group("alpha")), passive=True
        )

        async def fetched() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await queue.get(fail=False, no_ack=True)

        return await eventually(fetched, what="the dead-lettered broadcast")


async def test_a_broadcast_arrives_after_the_connection_was_cut(settings: ServiceSettings) -> None:
    """After every connection of a replica is severed, the robust connection restores its
    broadcast queue: a later event still reaches it, and gap listeners were told."""
    host, port = urlsplit(settings.amqp_url).hostname, urlsplit(settings.amqp_url).port
    proxy = TcpProxy(host or "127.0.0.1", port or 5672)
    await proxy.start()
    parts = urlsplit(settings.amqp_url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    proxied = settings.model_copy(
        update={
            "amqp_url": urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))
        }
    )
    listener = Listener()
    gaps: list[str] = []
    service = replica(proxied, listener)
    service.router.on_broadcast_gap(lambda: gaps.append("gap"))
    publisher = Service.create("nobody", settings, stateless=True)
    try:
        async with running(service, publisher):
            await publisher.bus.publish(ThingHappened(key="before", n=0))
            await eventually(lambda: _heard_all(listener, 1), what="the event before the cut")
            assert proxy.drop_all() > 0
            await eventually(lambda: _true(gaps), what="the gap reported")
            probe = iter(range(1, 10_000))

            async def heard_after_cut() -> bool:
                await publisher.bus.publish(ThingHappened(key="after", n=next(probe)))
                return any(n > 0 for n in listener.heard)

            await eventually(
                heard_after_cut, timeout=30, interval=0.2, what="a broadcast after the cut"
            )
    finally:
        await proxy.stop()
    assert proxy.connections_made >= 2
    assert len(gaps) >= 2, "the gap is reported when the connection drops and when it returns"


async def _true(values: list[str]) -> bool:
    return bool(values)


def test_only_events_are_broadcast_and_each_type_once() -> None:
    """`on_broadcast` refuses a command and a second handler for one event type."""
    router = Router()
    listener = Listener()
    router.on_broadcast(ThingHappened, listener)
    with pytest.raises(ValueError, match="already has a broadcast handler"):
        router.on_broadcast(ThingHappened, listener)
    with pytest.raises(ValueError, match="only events are broadcast"):
        router.on_broadcast(CountThing, listener)  # type: ignore[arg-type]
    assert router.broadcast_types == [ThingHappened.TYPE]
