"""Publishing and consuming through servicekit against the real broker and store."""

from __future__ import annotations

import io
import itertools
import json
import time

import aio_pika
import pytest
import structlog
from aio_pika.abc import AbstractIncomingMessage

from servicekit.correlation import bind_correlation_id
from servicekit.errors import RemoteCallError, RequestTimeout
from servicekit.inbox import update_once
from servicekit.logging import configure_logging
from servicekit.messages import MessageContext
from servicekit.metrics import MESSAGES_CONSUMED
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, declare_query_queue
from support.messages import AskThing, CountThing, ThingAnswer, ThingHappened
from support.services import running
from support.waiting import eventually


async def counter_value(service: Service, key: str) -> int:
    document = await service.db["counters"].find_one({"_id": key})
    return int(document["value"]) if document else 0


def counting_service(settings: ServiceSettings, name: str = "alpha") -> Service:
    """A service whose CountThing handler increments a counter once per message."""
    service = Service.create(name, settings)

    async def count(command: CountThing, context: MessageContext) -> None:
        await update_once(
            service.db["counters"], {"_id": command.key}, {"$inc": {"value": 1}}, context.message_id
        )

    async def ensure_counter(command_key: str) -> None:
        await service.db["counters"].update_one(
            {"_id": command_key}, {"$setOnInsert": {"value": 0, "_applied": []}}, upsert=True
        )

    service.router.on(CountThing, count)
    service.startup.append(lambda: ensure_counter("c"))
    return service


async def test_round_trip_carries_the_correlation_id_into_the_handlers_logs(
    settings: ServiceSettings,
) -> None:
    """An event published under a correlation id is handled with that id in its log records."""
    output = io.StringIO()
    configure_logging("alpha", "info", "json", stream=output)
    service = Service.create("alpha", settings)
    seen: list[int] = []

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        structlog.get_logger("test").info("thing_handled", n=event.n)
        seen.append(event.n)

    service.router.on(ThingHappened, on_thing)
    async with running(service):
        bind_correlation_id("cor_roundtrip_12345")
        await service.bus.publish(ThingHappened(key="k", n=7))
        await eventually(lambda: _true(seen), what="event handled")
    records = [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]
    handled = [r for r in records if r.get("event") == "thing_handled"]
    assert seen == [7]
    assert len(handled) == 1
    assert handled[0]["correlation_id"] == "cor_roundtrip_12345"
    assert handled[0]["message_type"] == ThingHappened.TYPE


async def _true(values: list[int]) -> bool:
    return bool(values)


async def test_a_message_delivered_three_times_changes_state_once(
    settings: ServiceSettings,
) -> None:
    """Three copies of one message (same message id) increment the counter exactly once."""
    service = counting_service(settings)
    async with running(service):
        before = _deliveries(CountThing.TYPE)
        outgoing = service.bus.outgoing(CountThing(key="c"), to="alpha")
        second = service.bus.outgoing(CountThing(key="c"), to="alpha")
        await service.bus.publish_many([outgoing, outgoing, outgoing, second])
        await eventually(
            lambda: _at_least(_deliveries(CountThing.TYPE) - before, 4),
            what="all four deliveries consumed",
        )
        assert await counter_value(service, "c") == 2


def _deliveries(message_type: str) -> float:
    """Deliveries of a type consumed so far, handled or skipped as duplicates."""
    return sum(
        MESSAGES_CONSUMED.labels("alpha", message_type, outcome)._value.get()
        for outcome in ("handled", "duplicate")
    )


async def _at_least(value: float, minimum: float) -> bool:
    return value >= minimum


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    settings: ServiceSettings,
) -> None:
    """A handler that always fails runs 1 + len(retries) times, spaced by the delays, then
    its message lands in the DLQ with the reason, while other messages keep flowing."""
    service = Service.create("alpha", settings)
    attempts: list[float] = []
    handled: list[int] = []

    async def on_thing(event: ThingHappened, context: MessageContext) -> None:
        if event.key == "poison":
            attempts.append(time.monotonic())
            raise RuntimeError("this handler always fails")
        handled.append(event.n)

    service.router.on(ThingHappened, on_thing)
    async with running(service):
        await service.bus.publish(ThingHappened(key="poison"))
        await service.bus.publish_many(
            [service.bus.outgoing(ThingHappened(key="fine", n=n)) for n in range(20)]
        )
        await eventually(lambda: _count_at_least(handled, 20), what="good messages handled")
        dead = await _wait_for_dead_letter(settings, "alpha")
    assert len(attempts) == 1 + len(settings.retry_delays_ms)
    gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(attempts)]
    for gap, delay in zip(gaps_ms, settings.retry_delays_ms, strict=True):
        assert gap >= delay * 0.9, f"retry after {gap:.0f} ms, backoff was {delay} ms"
    assert dead.type == ThingHappened.TYPE
    reason = str((dead.headers or {})["x-death-reason"])
    assert "handler failed 3 times" in reason
    assert "always fails" in reason
    assert sorted(handled) == list(range(20))


async def _count_at_least(values: list[int], count: int) -> bool:
    return len(values) >= count


async def _wait_for_dead_letter(
    settings: ServiceSettings, service: str, timeout: float = 15.0
) -> AbstractIncomingMessage:
    topology = Topology(settings.bus_namespace)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.get_queue(topology.dead_letter_queue(topology.service_queue(service)))

        async def take() -> AbstractIncomingMessage | None:
            return await dlq.get(no_ack=True, fail=False)

        return await eventually(take, timeout=timeout, what="a dead letter")


async def _dead_letters(
    settings: ServiceSettings, service: str, count: int
) -> list[AbstractIncomingMessage]:
    letters = []
    for _ in range(count):
        letters.append(await _wait_for_dead_letter(settings, service))
    return letters


async def test_invalid_json_and_unknown_types_are_dead_lettered_without_retries(
    settings: ServiceSettings,
) -> None:
    """A body that fails validation and a type nobody handles go straight to the DLQ."""
    service = Service.create("alpha", settings)
    calls: list[ThingHappened] = []

    async def on_thing(event: ThingHappened, _context: MessageContext) -> None:
        calls.append(event)

    service.router.on(ThingHappened, on_thing)
    topology = Topology(settings.bus_namespace)
    async with running(service):
        for message_type, body in (
            (ThingHappened.TYPE, b"{not json"),
            (ThingHappened.TYPE, b'{"key": 5, "unexpected": true}'),
            ("test.never_heard_of.v1", b"{}"),
        ):
            await service.bus.publish_raw(
                topology.commands,
                Topology.command_key("alpha", message_type),
                aio_pika.Message(body, type=message_type, message_id=f"m-{len(body)}"),
            )
        letters = await _dead_letters(settings, "alpha", 3)
    reasons = sorted(str((m.headers or {})["x-death-reason"]) for m in letters)
    assert reasons[0].startswith("invalid body")
    assert reasons[1].startswith("invalid body")
    assert "unknown message type 'test.never_heard_of.v1'" in reasons[2]
    assert all("x-attempt" not in (m.headers or {}) for m in letters)
    assert calls == []


async def test_request_reply_answers_and_times_out_cleanly_when_nobody_answers(
    settings: ServiceSettings,
) -> None:
    """A query is answered over direct reply-to; with no consumer it times out in time, and
    a service that serves no requests at all is reported unavailable at once."""
    service = Service.create("alpha", settings)

    async def answer(query: AskThing, _context: MessageContext) -> ThingAnswer:
        return ThingAnswer(text=query.text.upper())

    service.router.answer(AskThing, answer)
    async with running(service):
        reply = await service.bus.request(
            AskThing(text="hi"), to="alpha", reply=ThingAnswer, timeout=5
        )
        assert reply.text == "HI"
        channel = await service.bus.connection.channel()
        await declare_query_queue(channel, service.bus.topology, "nobody")
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match="nobody did not answer"):
            await service.bus.request(
                AskThing(text="x"), to="nobody", reply=ThingAnswer, timeout=0.5
            )
        assert 0.5 <= time.monotonic() - started < 2.0
        with pytest.raises(RemoteCallError) as unavailable:
            await service.bus.request(AskThing(text="x"), to="beta", reply=ThingAnswer, timeout=5)
        assert unavailable.value.code == "unavailable"
        await channel.close()
