"""A dead letter's envelope as operators see it, read from the headers the broker sets."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from servicekit.dead_letter_views import BODY_TEXT_LIMIT, dead_letter_of


def _message(headers: dict[str, Any], body: bytes = b'{"key": "k"}') -> Any:
    return SimpleNamespace(
        headers=headers,
        message_id="msg_1",
        type="test.count_thing.v1",
        routing_key="ns.alpha",
        timestamp=datetime(2026, 11, 27, 5, 0),  # as the broker hands it over: naive UTC
        body=body,
    )


def test_a_message_the_broker_dead_lettered_shows_its_reason_key_and_count() -> None:
    """Past the delivery limit: the broker's reason, the routing key it had and its death
    count; its earlier hops through retry queues (`expired`) do not count as deaths."""
    x_death = [
        {"reason": b"delivery_limit", "queue": "ns.alpha", "count": 1,
         "routing-keys": ["alpha.test.count_thing.v1"]},
        {"reason": "expired", "queue": "ns.alpha.retry.100", "count": 2,
         "routing-keys": ["ns.alpha.retry.100"]},
    ]  # fmt: skip
    letter = dead_letter_of(_message({"x-death": x_death}))
    assert letter.reason == "broker: delivery_limit"
    assert letter.routing_key == "alpha.test.count_thing.v1"
    assert (letter.death_count, letter.queue, letter.attempts) == (1, "ns.alpha", None)
    assert letter.timestamp == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def test_the_consumer_reason_wins_and_bodies_show_only_when_small_text() -> None:
    """The consumer's `x-death-reason` comes first; a body is text only when asked for,
    valid UTF-8 and at most the limit."""
    headers = {"x-death-reason": "invalid body: key: field required", "x-attempt": 3}
    assert dead_letter_of(_message(headers)).reason == "invalid body: key: field required"
    assert dead_letter_of(_message(headers)).body_text is None
    assert dead_letter_of(_message(headers), bodies=True).body_text == '{"key": "k"}'
    assert dead_letter_of(_message(headers, b"\xff\xfe"), bodies=True).body_text is None
    large = dead_letter_of(_message(headers, b"a" * (BODY_TEXT_LIMIT + 1)), bodies=True)
    assert (large.body_text, large.body_bytes) == (None, BODY_TEXT_LIMIT + 1)
