"""Nothing is lost when the broker drops connections or a process dies at the worst moment."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pymongo import AsyncMongoClient

from servicekit.messages import MessageContext
from servicekit.outbox import with_outbox
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.messages import CountThing, ThingHappened
from support.processes import ServiceProcess, free_port
from support.services import running
from support.tcpproxy import TcpProxy
from support.waiting import eventually

SCRIPTS = Path(__file__).parent / "scripts"


def _through(proxy: TcpProxy, amqp_url: str) -> str:
    parts = urlsplit(amqp_url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


async def test_dropped_broker_connections_lose_nothing_and_consumers_resume(
    settings: ServiceSettings,
) -> None:
    """Every broker connection is cut twice while 300 events flow through the outbox:
    all 300 arrive, and the consumer resumes by itself each time."""
    host, port = urlsplit(settings.amqp_url).hostname, urlsplit(settings.amqp_url).port
    proxy = TcpProxy(host or "127.0.0.1", port or 5672)
    await proxy.start()
    proxied = settings.model_copy(update={"amqp_url": _through(proxy, settings.amqp_url)})
    service = Service.create("alpha", proxied)
    service.outbox.collections.append("things")
    received: set[int] = set()

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        received.add(event.n)

    service.router.on(ThingHappened, on_thing)
    try:
        async with running(service):
            for n in range(300):
                message = service.bus.outgoing(ThingHappened(key="flow", n=n))
                await service.db["things"].insert_one(with_outbox({"_id": f"thing-{n}"}, message))
                service.outbox.kick()
                if n in (100, 200):
                    await eventually(lambda: _connected(proxy), what="client (re)connected")
                    assert proxy.drop_all() > 0
            await eventually(
                lambda: _all_received(received, 300), timeout=60, what="all 300 events received"
            )
            await eventually(lambda: _outbox_empty(service), what="outbox drained")
    finally:
        await proxy.stop()
    assert proxy.connections_made >= 3, "the client should have reconnected after each cut"


async def _outbox_empty(service: Service) -> bool:
    return await service.outbox.backlog() == 0


async def _connected(proxy: TcpProxy) -> bool:
    return proxy.live > 0


async def _all_received(received: set[int], count: int) -> bool:
    return len(received) == count


async def test_a_consumer_killed_before_acking_redelivers_and_the_effect_happens_once(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    """A consumer SIGKILLed after committing its effect but before acking gets the message
    back after restart, and the counter still moves by exactly one."""
    marker = tmp_path / "crashed-once"
    env = _env(settings) | {"CRASH_MARKER": str(marker)}
    consumer = ServiceProcess(
        [str(SCRIPTS / "crashy_consumer.py")],
        env | {"HTTP_PORT": str(free_port())},
        tmp_path / "consumer.log",
    )
    consumer.start()
    await consumer.wait_ready()
    publisher = Service.create("beta", settings)
    async with running(publisher):
        await publisher.bus.publish(CountThing(key="once"), to="alpha")
    assert consumer.wait_exit() == -9, consumer.output()[-2000:]
    assert marker.exists()
    restarted = ServiceProcess(
        [str(SCRIPTS / "crashy_consumer.py")],
        env | {"HTTP_PORT": str(free_port())},
        tmp_path / "consumer2.log",
    )
    restarted.start()
    try:
        await restarted.wait_ready()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(settings.mongo_url)
        counters = client[settings.database_name("alpha")]["counters"]

        async def handled_again() -> bool:
            return '"redelivered_handled"' in restarted.output()

        await eventually(handled_again, timeout=30, what="the redelivered message handled")
        document = await counters.find_one({"_id": "once"})
        await client.close()
    finally:
        restarted.stop()
    assert document is not None
    assert document["value"] == 1


async def test_a_producer_killed_between_commit_and_publish_is_relayed_after_restart(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    """A process that commits a change with its event and dies before publishing: the relay
    of the restarted service publishes the event."""
    producer = ServiceProcess(
        [str(SCRIPTS / "dying_producer.py")], _env(settings), tmp_path / "producer.log"
    )
    producer.start()
    assert producer.wait_exit() == -9, producer.output()[-2000:]
    receiver = Service.create("beta", settings)
    received: list[str] = []

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        received.append(event.key)

    receiver.router.on(ThingHappened, on_thing)
    restarted = Service.create("alpha", settings)
    restarted.outbox.collections.append("things")
    async with running(receiver):
        assert (
            await receiver.db.client[settings.database_name("alpha")]["things"].count_documents(
                {"_outbox_pending": 1}
            )
            == 1
        )
        async with running(restarted):
            await eventually(lambda: _true(received), what="the committed event published")
    assert received == ["committed-before-crash"]


async def _true(values: list[str]) -> bool:
    return bool(values)


def _env(settings: ServiceSettings) -> dict[str, str]:
    return {
        "AMQP_URL": settings.amqp_url,
        "MONGO_URL": settings.mongo_url,
        "BUS_NAMESPACE": settings.bus_namespace,
        "RETRY_DELAYS_MS": json.dumps(settings.retry_delays_ms),
        "DELIVERY_LIMIT": str(settings.delivery_limit),
        "LOG_FORMAT": "json",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
