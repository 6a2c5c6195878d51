"""`python -m servicekit.ops_cli`: depths, dead letters listed and replayed, exit codes."""

from __future__ import annotations

import json

import pytest
from aio_pika.abc import AbstractConnection
from broker_ops_support import (
    SERVICE,
    FlakyCounter,
    cli,
    cli_process,
    dead_letter_count,
    dead_lettered,
)

from servicekit.dead_letters import inspect_dead_letters
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.processes import free_port
from support.waiting import eventually

PERSONAL = "ann-lee-at-example"
"""A command's key standing in for personal data in a body."""


async def _dead_letter_id(connection: AbstractConnection, settings: ServiceSettings) -> str:
    letters = await inspect_dead_letters(connection, Topology(settings.bus_namespace), SERVICE, 5)
    assert len(letters) == 1
    assert letters[0].message_id is not None
    return letters[0].message_id


async def test_list_shows_metadata_and_bodies_only_when_asked(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """`dead-letters list` prints the id, type and reason but not the body; `--show-bodies`
    adds it; the dead letter stays in the queue."""
    await dead_lettered(counter, connection, settings, PERSONAL)
    message_id = await _dead_letter_id(connection, settings)
    plain = await cli(settings, "dead-letters", "list", SERVICE)
    assert plain.code == 0, plain.err
    for expected in (message_id, "test.count_thing.v1", "broken on purpose"):
        assert expected in plain.out
    assert PERSONAL not in plain.out
    with_bodies = await cli(settings, "dead-letters", "list", SERVICE, "--show-bodies")
    assert with_bodies.code == 0, with_bodies.err
    assert PERSONAL in with_bodies.out
    assert await dead_letter_count(connection, settings) == 1


async def test_replay_by_id_after_the_fix_handles_it_once(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """`dead-letters replay SERVICE --id ID` prints what it replayed; the command is handled
    once and the list is empty afterwards."""
    await dead_lettered(counter, connection, settings, "poison")
    message_id = await _dead_letter_id(connection, settings)
    counter.broken = False
    run = await cli(settings, "dead-letters", "replay", SERVICE, "--id", message_id)
    assert run.code == 0, run.err
    assert "replayed 1 of 1 dead letters examined" in run.out
    assert message_id in run.out

    async def handled() -> bool:
        return bool(counter.handled)

    await eventually(handled, what="the replayed command handled")
    assert counter.handled == [("poison", 1)]
    after = await cli(settings, "dead-letters", "list", SERVICE)
    assert (after.code, after.out.strip()) == (0, "no dead letters")


async def test_replay_of_an_unknown_id_fails_and_changes_nothing(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """An id not among the dead letters: exit 1 and a line saying so; the dead letter stays."""
    await dead_lettered(counter, connection, settings, "poison")
    counter.broken = False
    run = await cli(settings, "dead-letters", "replay", SERVICE, "--id", "msg_unknown")
    assert run.code == 1
    assert "replayed 0 of 1" in run.out
    assert "not found among the dead letters examined: msg_unknown" in run.err
    assert await dead_letter_count(connection, settings) == 1
    assert counter.handled == []


async def test_depths_table_shows_the_dead_letter(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """`depths --service` prints one row per declared queue, the DLQ with its 1 message, and
    how many queues are not declared."""
    await dead_lettered(counter, connection, settings, "poison")
    run = await cli(settings, "depths", "--service", SERVICE)
    assert run.code == 0, run.err
    rows = [line.split() for line in run.out.splitlines()]
    dlq_row = next(row for row in rows if row and row[0].endswith(f".{SERVICE}.dlq"))
    assert dlq_row[1:] == [SERVICE, "dlq", "1", "0"]
    assert "2 queues not declared (--absent lists them)" in run.out
    as_json = await cli(settings, "depths", "--service", SERVICE, "--absent", "--json")
    assert len(json.loads(as_json.out)) == 4 + len(settings.retry_delays_ms)


async def test_list_as_its_own_process_prints_json(
    settings: ServiceSettings, connection: AbstractConnection, counter: FlakyCounter
) -> None:
    """`python -m servicekit.ops_cli dead-letters list SERVICE --json`, configured by the
    environment, prints the dead letters as JSON without bodies."""
    await dead_lettered(counter, connection, settings, PERSONAL)
    run = await cli_process(settings, "dead-letters", "list", SERVICE, "--json")
    assert run.code == 0, run.err
    [letter] = json.loads(run.out)
    assert letter["type"] == "test.count_thing.v1"
    assert letter["body_text"] is None
    assert PERSONAL not in run.out


async def test_a_service_without_dead_letters_queue_exits_1(
    settings: ServiceSettings,
) -> None:
    """Listing the dead letters of a service that never ran: exit 1 and why."""
    run = await cli(settings, "dead-letters", "list", "nobody")
    assert run.code == 1
    assert f"no dead-letter queue {settings.bus_namespace}.nobody.dlq" in run.err


async def test_an_unreachable_broker_exits_1_without_the_url(settings: ServiceSettings) -> None:
    """A broker nobody answers at: exit 1, one line, no credentials."""
    closed = settings.model_copy(
        update={"amqp_url": f"amqp://ops:hunter2@127.0.0.1:{free_port()}/"}
    )
    run = await cli(closed, "depths")
    assert run.code == 1
    assert "cannot reach the broker" in run.err
    assert "hunter2" not in run.err + run.out


@pytest.mark.parametrize(
    "argv",
    [
        ["dead-letters", "replay", SERVICE],
        ["dead-letters", "replay", SERVICE, "--all", "--id", "msg_1"],
        ["dead-letters", "list", SERVICE, "--limit", "0"],
        ["dead-letters", "list", "Not A Service"],
        ["dead-letters"],
        ["purge"],
    ],
)
async def test_bad_usage_exits_2_and_does_nothing(argv: list[str]) -> None:
    """Missing or conflicting choices, a bad limit or name, an unknown command: exit 2, one
    line on stderr, and no broker is asked (none is configured to answer)."""
    nowhere = ServiceSettings(amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    run = await cli(nowhere, *argv)
    assert run.code == 2
    assert run.err.startswith("python -m servicekit.ops_cli: ")
    assert run.out == ""
