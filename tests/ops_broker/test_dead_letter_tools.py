"""Queue depths, and dead letters read and replayed, against a real service on the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aio_pika.abc import AbstractConnection
from broker_ops_support import (
    SERVICE,
    FlakyCounter,
    dead_letter_count,
    dead_lettered,
    running_counter,
)

from servicekit.dead_letters import (
    REFRESH_AT_DELIVERIES,
    DeadLetter,
    DeadLetterQueueMissing,
    inspect_dead_letters,
    replay_dead_letters,
)
from servicekit.queue_depths import queue_depths
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.messages import CountThing
from support.waiting import eventually

REPLAYED_AT = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


async def _only_dead_letter(
    connection: AbstractConnection, settings: ServiceSettings, *, bodies: bool = False
) -> DeadLetter:
    letters = await inspect_dead_letters(
        connection, Topology(settings.bus_namespace), SERVICE, 10, bodies=bodies
    )
    assert len(letters) == 1, letters
    return letters[0]


async def test_depths_report_the_dead_letter_and_absent_queues_without_failing(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """After one message dead-letters, depths show 1 in the DLQ, an empty main queue with its
    consumer, the undeclared queues (and another service's) as absent, in order."""
    await dead_lettered(counter, connection, settings, "poison")
    topology = Topology(settings.bus_namespace)
    depths = await queue_depths(
        connection, topology, ["nobody", SERVICE], retry_delays_ms=settings.retry_delays_ms
    )
    by_name = {depth.name: depth for depth in depths}
    assert [d.service for d in depths] == ["nobody"] * 6 + [SERVICE] * 6
    assert not any(d.present for d in depths if d.service == "nobody")
    dlq = by_name[f"{settings.bus_namespace}.{SERVICE}.dlq"]
    assert (dlq.kind, dlq.present, dlq.messages, dlq.consumers) == ("dlq", True, 1, 0)
    assert dlq.holds_dead_letters
    main = by_name[f"{settings.bus_namespace}.{SERVICE}"]
    assert (main.kind, main.messages, main.consumers) == ("main", 0, 1)
    assert not by_name[f"{settings.bus_namespace}.{SERVICE}.queries"].present
    retries = [d for d in depths if d.kind == "retry" and d.service == SERVICE]
    assert [d.present for d in retries] == [True, True]


async def test_reading_dead_letters_shows_metadata_and_leaves_them_in_the_queue(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """A read gives the id, type, reason, queue and attempts, no body unless asked for, and
    the message stays in the DLQ however often it is read."""
    await dead_lettered(counter, connection, settings, "poison")
    letter = await _only_dead_letter(connection, settings)
    assert letter.message_id
    assert letter.message_id.startswith("msg_")
    assert letter.type == CountThing.TYPE
    assert letter.reason is not None
    assert "broken on purpose" in letter.reason
    assert letter.queue == f"{settings.bus_namespace}.{SERVICE}"
    assert letter.attempts == 1 + len(settings.retry_delays_ms)
    assert (letter.replays, letter.death_count) == (0, 0)
    assert letter.body_text is None
    assert letter.body_bytes > 0
    assert letter.timestamp is not None
    assert letter.timestamp.tzinfo is not None
    again = await _only_dead_letter(connection, settings, bodies=True)
    assert again.message_id == letter.message_id
    assert again.body_text is not None
    assert json.loads(again.body_text)["key"] == "poison"
    assert await dead_letter_count(connection, settings) == 1


async def test_a_dead_letter_read_very_often_is_kept(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """Reading a dead letter more often than the refresh threshold keeps it, unchanged, in the
    DLQ (it is re-published before a broker delivery limit could drop it)."""
    await dead_lettered(counter, connection, settings, "poison")
    first = await _only_dead_letter(connection, settings)
    for _ in range(REFRESH_AT_DELIVERIES + 2):
        assert await _only_dead_letter(connection, settings) == first
    assert await dead_letter_count(connection, settings) == 1
    channel = await connection.channel()
    dlq = await channel.get_queue(f"{settings.bus_namespace}.{SERVICE}.dlq")
    held = await dlq.get(no_ack=False)
    deliveries = (held.headers or {}).get("x-delivery-count")
    await held.nack(requeue=True)
    await channel.close()
    assert isinstance(deliveries, int)
    assert 0 < deliveries < REFRESH_AT_DELIVERIES, "counted, and reset by a re-publish"


async def test_a_replay_after_the_fix_is_handled_once_and_empties_the_dead_letters(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """Replaying the dead letter's id once the handler works: handled exactly once, with every
    attempt available again, and the DLQ is empty."""
    await dead_lettered(counter, connection, settings, "poison")
    letter = await _only_dead_letter(connection, settings)
    assert letter.message_id is not None
    counter.broken = False
    report = await replay_dead_letters(
        connection,
        Topology(settings.bus_namespace),
        SERVICE,
        [letter.message_id],
        100,
        clock=lambda: REPLAYED_AT,
    )
    assert (report.examined, report.replayed, report.missing, report.failed) == (
        1,
        [letter.message_id],
        [],
        [],
    )
    assert await dead_letter_count(connection, settings) == 0
    await counter.send("after")

    async def both_handled() -> bool:
        return len(counter.handled) >= 2

    await eventually(both_handled, what="the replayed and the next command handled")
    assert sorted(counter.handled) == [("after", 1), ("poison", 1)]


async def test_replaying_an_unknown_id_changes_nothing(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """An id that is not among the dead letters is reported missing; the dead letter stays
    as it was and nothing is handled."""
    await dead_lettered(counter, connection, settings, "poison")
    before = await _only_dead_letter(connection, settings)
    counter.broken = False
    report = await replay_dead_letters(
        connection, Topology(settings.bus_namespace), SERVICE, ["msg_unknown"], 100
    )
    assert (report.examined, report.replayed, report.missing) == (1, [], ["msg_unknown"])
    assert await _only_dead_letter(connection, settings) == before
    assert counter.handled == []


async def test_replay_all_takes_every_dead_letter_up_to_the_limit(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """`all` with a limit replays that many dead letters and leaves the rest; the replay is
    counted on the message."""
    for key in ("one", "two", "three"):
        await dead_lettered(counter, connection, settings, key)
    topology = Topology(settings.bus_namespace)
    report = await replay_dead_letters(connection, topology, SERVICE, None, 2)
    assert (report.examined, len(report.replayed), report.missing) == (2, 2, [])

    async def replayed_back() -> bool:
        return await dead_letter_count(connection, settings) == 3

    # Still broken: the two replayed ones fail again, every attempt, and return to the DLQ.
    await eventually(replayed_back, what="the replayed dead letters dead-lettered again")
    letters = await inspect_dead_letters(connection, topology, SERVICE, 10)
    assert sorted(letter.replays for letter in letters) == [0, 1, 1]
    assert {letter.attempts for letter in letters} == {1 + len(settings.retry_delays_ms)}


async def test_a_replay_the_broker_cannot_route_leaves_the_dead_letter(
    settings: ServiceSettings, connection: AbstractConnection
) -> None:
    """With the service's queue gone, a replay reports the failure and the dead letter stays."""
    async with running_counter(settings) as counter:
        await dead_lettered(counter, connection, settings, "poison")
    letter = await _only_dead_letter(connection, settings)
    topology = Topology(settings.bus_namespace)
    channel = await connection.channel()
    await channel.queue_delete(topology.service_queue(SERVICE))
    await channel.close()
    report = await replay_dead_letters(connection, topology, SERVICE, None, 10)
    assert report.replayed == []
    assert [failure.message_id for failure in report.failed] == [letter.message_id]
    assert await _only_dead_letter(connection, settings) == letter


async def test_a_service_without_dead_letter_queue_is_an_error(
    settings: ServiceSettings, connection: AbstractConnection
) -> None:
    """Reading or replaying the dead letters of a service that never ran says so."""
    topology = Topology(settings.bus_namespace)
    with pytest.raises(DeadLetterQueueMissing):
        await inspect_dead_letters(connection, topology, "nobody", 10)
    with pytest.raises(DeadLetterQueueMissing):
        await replay_dead_letters(connection, topology, "nobody", None, 10)
