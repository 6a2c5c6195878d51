"""The envelope of an outgoing message: its AMQP properties and its correlation id."""

from __future__ import annotations

from servicekit.bus import Bus
from servicekit.correlation import bind_correlation_id
from servicekit.messages import PERSISTENT
from servicekit.topology import Topology
from support.messages import CountThing, ThingHappened


def bus() -> Bus:
    """A bus that is never connected: preparing a message needs no broker."""
    return Bus(url="amqp://unused", topology=Topology("envelope"), service="alpha")


async def test_the_properties_carry_the_whole_envelope_and_no_empty_headers() -> None:
    """A prepared event is persistent JSON with its ids, type, timestamp and producer."""
    outgoing = bus().outgoing(ThingHappened(key="k", n=1))
    properties = outgoing.properties()
    assert properties.delivery_mode == PERSISTENT == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == outgoing.message_id
    assert properties.correlation_id == outgoing.correlation_id
    assert properties.message_type == ThingHappened.TYPE
    assert properties.timestamp == outgoing.occurred_at
    assert properties.app_id == "alpha"
    assert properties.headers is None


async def test_a_message_with_no_correlation_bound_starts_its_own_from_its_id() -> None:
    """Unbound, the correlation id is `cor_` and the message id's own characters."""
    outgoing = bus().outgoing(CountThing(key="k"), to="beta")
    assert outgoing.message_id.startswith("msg_")
    assert outgoing.correlation_id == "cor_" + outgoing.message_id.removeprefix("msg_")


async def test_a_bound_or_given_correlation_id_wins() -> None:
    """A correlation id bound to the task is carried; one given explicitly overrides it."""
    bind_correlation_id("cor_bound_1")
    assert bus().outgoing(ThingHappened(key="k")).correlation_id == "cor_bound_1"
    given = bus().outgoing(ThingHappened(key="k"), correlation_id="cor_given_2")
    assert given.correlation_id == "cor_given_2"
