"""Policy versions: the seeded first version, the 30-day rule, who publishes, idempotency."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from policy_support import START, context, publication
from pymongo.asynchronous.database import AsyncDatabase

from contracts.accounts import Actor, Role
from contracts.policy import GetCurrentPolicy, PolicyPublished
from privacy import policy_store
from privacy.policy import POLICY_FILE, PolicyHandlers, last_updated_of
from servicekit.bus import Bus
from servicekit.errors import ServiceError
from servicekit.topology import Topology

Db = AsyncDatabase[dict[str, Any]]


def handlers(db: Db, days_later: float = 0) -> PolicyHandlers:
    """The policy handlers on a clock fixed at START plus `days_later` (the bus is not used
    beyond building outbox messages)."""
    bus = Bus(url="amqp://unused", topology=Topology("unused"), service="privacy")
    return PolicyHandlers(db, bus, clock=lambda: START + timedelta(days=days_later))


async def stored_versions(db: Db) -> list[int]:
    """The numbers of the stored versions."""
    return [doc["version"] async for doc in db[policy_store.POLICY_VERSIONS].find({})]


async def test_first_version_is_the_repository_policy_dated_by_last_updated(policy_db: Db) -> None:
    """Version 1 is docs/privacy-policy.md, in force, "Last updated" February 2026."""
    current = await handlers(policy_db).current(GetCurrentPolicy(), context())
    assert current.version == 1
    assert current.text == POLICY_FILE.read_text(encoding="utf-8")
    assert current.last_updated == date(2026, 2, 1)
    assert not current.material


def test_last_updated_line_is_required() -> None:
    """A text without a "Last updated: Month YYYY" line has no date."""
    assert last_updated_of("Last updated: March 2027\n") == date(2027, 3, 1)
    with pytest.raises(ValueError, match="Last updated"):
        last_updated_of("Privacy Policy\n")


async def test_material_change_with_29_days_notice_is_refused_and_nothing_stored(
    policy_db: Db,
) -> None:
    """A material change taking effect 29 days after publication: invalid_request, no version."""
    with pytest.raises(ServiceError) as refused:
        await handlers(policy_db).publish(publication(29.9), context())
    assert refused.value.code == "invalid_request"
    assert "30 days" in refused.value.message
    assert await stored_versions(policy_db) == [1]


async def test_material_change_with_30_days_notice_is_stored_with_its_event(policy_db: Db) -> None:
    """30 days' notice is enough: version 2, with `policy_published` in its outbox."""
    published = await handlers(policy_db).publish(publication(30), context())
    assert published.version == 2
    assert published.last_updated == START.date()
    stored = await policy_store.find_version(policy_db, 2)
    assert stored is not None
    [message] = stored["_outbox"]
    assert message["type"] == PolicyPublished.TYPE


async def test_version_takes_over_only_once_effective(policy_db: Db) -> None:
    """The current version stays 1 until the new one's effective date, then becomes 2."""
    await handlers(policy_db).publish(publication(31), context())
    before = await handlers(policy_db, days_later=30).current(GetCurrentPolicy(), context())
    after = await handlers(policy_db, days_later=31).current(GetCurrentPolicy(), context())
    assert (before.version, after.version) == (1, 2)


async def test_minor_change_may_take_effect_at_once_without_an_event(policy_db: Db) -> None:
    """A non-material change needs no notice and publishes no event."""
    published = await handlers(policy_db).publish(publication(0, material=False), context())
    stored = await policy_store.find_version(policy_db, published.version)
    assert stored is not None
    assert stored["_outbox"] == []
    current = await handlers(policy_db).current(GetCurrentPolicy(), context())
    assert current.version == published.version


async def test_the_same_publication_twice_is_one_version(policy_db: Db) -> None:
    """Publishing the same text and terms again answers the version made the first time."""
    first = await handlers(policy_db).publish(publication(40), context())
    again = await handlers(policy_db, days_later=0.5).publish(publication(40), context())
    assert again == first
    assert sorted(await stored_versions(policy_db)) == [1, 2]


@pytest.mark.parametrize(
    "actor",
    [
        Actor(kind="user", id="usr_1", partner_id="ptn_1", role=Role.OWNER),
        Actor(kind="api_key", id="key_1", partner_id="ptn_1"),
        Actor(kind="user", id="usr_2", role=Role.SUPPORT),
    ],
)
async def test_only_the_privacy_officer_ops_or_platform_publish(
    policy_db: Db, actor: Actor
) -> None:
    """Partner users, keys and support are refused (forbidden) and nothing is stored."""
    with pytest.raises(ServiceError) as refused:
        await handlers(policy_db).publish(publication(40, actor=actor), context())
    assert refused.value.code == "forbidden"
    assert await stored_versions(policy_db) == [1]


async def test_effective_date_in_the_past_is_refused(policy_db: Db) -> None:
    """A version cannot take effect before it is published."""
    with pytest.raises(ServiceError) as refused:
        await handlers(policy_db).publish(publication(-2, material=False), context())
    assert refused.value.code == "invalid_request"
    assert await stored_versions(policy_db) == [1]
