"""Contracts used only by the tests of the bus machinery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from contracts import Command, Event, Query, Reply
from servicekit.messages import Outgoing


class ThingHappened(Event):
    """A test event carrying a key and a payload."""

    TYPE: ClassVar[str] = "test.thing_happened.v1"

    key: str
    n: int = 0


class CountThing(Command):
    """A test command: add one to the counter named `key`."""

    TYPE: ClassVar[str] = "test.count_thing.v1"

    key: str


class AskThing(Query):
    """A test query."""

    TYPE: ClassVar[str] = "test.ask_thing.v1"

    text: str


class ThingAnswer(Reply):
    """The answer to AskThing."""

    TYPE: ClassVar[str] = "test.thing_answer.v1"

    text: str


def outgoing_thing(n: int) -> Outgoing:
    """An outbox message of service `alpha`, `ThingHappened`'s type, id `msg_<n>`."""
    return Outgoing(
        exchange="events",
        routing_key=ThingHappened.TYPE,
        message_id=f"msg_{n}",
        correlation_id="cor_test",
        type=ThingHappened.TYPE,
        body=b"{}",
        occurred_at=datetime(2026, 11, 27, tzinfo=UTC),
        producer="alpha",
    )
