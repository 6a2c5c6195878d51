"""Usage analytics over the bus: groups smaller than k (3 here) suppressed, records of
restricted or objecting subjects excluded at query time, order facts kept once from
`provisioning.order_completed.v1`, and only the platform may ask."""

from __future__ import annotations

from datetime import datetime

import pytest
from log_query_support import MIN_GROUP_SIZE, OPS_USER, PLATFORM, Logs, at, usage_key

from contracts.accounts import Actor
from contracts.log_queries import GetUsageAnalytics, UsageAnalytics
from contracts.money import Money
from contracts.orders import OrderCompleted
from contracts.privacy import SubjectRef
from logs.order_facts import ORDER_FACTS
from logs.settings import LogsSettings
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id
from support.waiting import eventually


def analytics(dimension: str, year: int, actor: Actor = PLATFORM) -> GetUsageAnalytics:
    """Analytics of January of `year` (each test uses its own year)."""
    return GetUsageAnalytics.model_validate(
        {
            "actor": actor,
            "dimension": dimension,
            "period_from": at(year, 1, 1, 0),
            "period_to": at(year, 2, 1, 0),
        }
    )


async def ask(logs: Logs, dimension: str, year: int) -> dict[str, tuple[int, int]]:
    """The reported groups as {key: (count, members)}, and checks the k it reports."""
    report = await logs.ask(analytics(dimension, year), UsageAnalytics)
    assert report.min_group_size == MIN_GROUP_SIZE
    return {group.key: (group.count, group.members) for group in report.groups}


async def test_endpoint_groups_below_k_partners_are_suppressed(logs: Logs) -> None:
    """An endpoint used by 3 partners is reported; one used by 2 is only counted as suppressed."""
    partners = [new_id("ptn") for _ in range(3)]
    for partner in partners:
        await logs.add_request(partner, received_at=at(2031, 1, 5), route="/v1/packages")
        await logs.add_request(partner, received_at=at(2031, 1, 6), route="/v1/packages")
    for partner in partners[:2]:
        await logs.add_request(partner, received_at=at(2031, 1, 5), route="/v1/esims")
    await logs.add_request(None, received_at=at(2031, 1, 5), route="/v1/esims", status=401)

    report = await logs.ask(analytics("endpoint", 2031), UsageAnalytics)

    assert [(g.key, g.count, g.members) for g in report.groups] == [("GET /v1/packages", 6, 3)]
    assert report.suppressed_groups == 1
    assert "ptn_" not in report.model_dump_json()


async def test_day_groups_count_requests_of_each_utc_day(logs: Logs) -> None:
    """Days with enough partners are reported with their request counts."""
    partners = [new_id("ptn") for _ in range(4)]
    for partner in partners:
        await logs.add_request(partner, received_at=at(2032, 1, 7, 0, 0))
        await logs.add_request(partner, received_at=at(2032, 1, 7, 23, 59))
    await logs.add_request(partners[0], received_at=at(2032, 1, 8))
    report = await logs.ask(analytics("day", 2032), UsageAnalytics)
    assert [(g.key, g.count, g.members) for g in report.groups] == [("2032-01-07", 8, 4)]
    assert report.suppressed_groups == 1


@pytest.mark.parametrize("flag", ["restricted", "objection"])
async def test_restricted_or_objecting_partners_are_not_counted(logs: Logs, flag: str) -> None:
    """A partner who restricted processing or objected is left out, even if that shrinks a
    group below k; a subject with both flags lifted is counted."""
    year = 2033 if flag == "restricted" else 2034
    partners = [new_id("ptn") for _ in range(4)]
    for partner in partners:
        await logs.add_request(partner, received_at=at(year, 1, 5), route="/v1/orders")
    for partner in partners[:3]:
        await logs.add_request(partner, received_at=at(year, 1, 5), route="/v1/balance")
    await logs.restrict(SubjectRef(partner_id=partners[0]), {flag: True})
    await logs.restrict(SubjectRef(partner_id=partners[1]), {flag: True})
    await logs.restrict(SubjectRef(partner_id=partners[1]), {flag: False})

    groups = await ask(logs, "endpoint", year)

    assert groups == {"GET /v1/orders": (3, 3)}


async def test_records_of_a_restricted_ip_are_not_counted(logs: Logs) -> None:
    """A restricted IP (by its blind index) removes the records from that address."""
    partners = [new_id("ptn") for _ in range(3)]
    ip = "203.0.113.99"
    for partner in partners:
        await logs.add_request(partner, received_at=at(2035, 1, 5), ip="198.51.100.1")
    await logs.add_request(partners[0], received_at=at(2035, 1, 5), ip=ip)
    await logs.add_request(partners[1], received_at=at(2035, 1, 5), ip=ip)
    assert await ask(logs, "endpoint", 2035) == {"GET /v1/ping": (5, 3)}
    await logs.restrict(SubjectRef(ip=ip), {"objection": True})
    assert await ask(logs, "endpoint", 2035) == {"GET /v1/ping": (3, 3)}


async def test_a_partners_restriction_leaves_out_only_its_own_records(logs: Logs) -> None:
    """An IP restricted by one partner (scoped) removes that partner's records from the
    address; another partner's records from the same address are still counted."""
    partners = [new_id("ptn") for _ in range(3)]
    ip = "203.0.113.77"
    for partner in partners:
        await logs.add_request(partner, received_at=at(2036, 1, 5), ip=ip)
        await logs.add_request(partner, received_at=at(2036, 1, 6), ip="198.51.100.2")
    await logs.restrict(SubjectRef(ip=ip), {"restricted": True}, scope=partners[0])
    assert await ask(logs, "endpoint", 2036) == {"GET /v1/ping": (5, 3)}


def completed(partner_id: str, package_id: str, when: datetime, **extra: object) -> OrderCompleted:
    """An order_completed event of one eSIM per ICCID given."""
    values: dict[str, object] = {
        "order_id": new_id("ord"),
        "partner_id": partner_id,
        "package_id": package_id,
        "iccids": ["8949000000000000018"],
        "total": Money(amount=499, currency="EUR"),
        "completed_at": when,
    }
    values.update(extra)
    return OrderCompleted.model_validate(values)


async def test_package_and_country_analytics_come_from_completed_orders(logs: Logs) -> None:
    """Order facts are kept once per order (a redelivery counts once) and grouped by package
    and by each country; small groups are suppressed."""
    partners = [new_id("ptn") for _ in range(3)]
    events = [
        completed(partner, "pkg_eu_5gb", at(2036, 1, 3), countries=["DE", "FR"])
        for partner in partners
    ]
    events.append(
        completed(
            partners[0],
            "pkg_eu_5gb",
            at(2036, 1, 4),
            countries=["DE"],
            iccids=["8949000000000000018", "8949000000000000026"],
        )
    )
    events.append(completed(partners[1], "pkg_us_1gb", at(2036, 1, 4), countries=["US"]))
    events.append(completed(partners[2], "pkg_old", at(2036, 1, 4)))  # no countries
    for event in [*events, events[0]]:  # the first one twice
        await logs.bus.publish(event)

    async def all_kept() -> bool:
        count = await logs.db[ORDER_FACTS].count_documents(
            {"_id": {"$in": [event.order_id for event in events]}}
        )
        return count == len(events)

    await eventually(all_kept, timeout=15, what="every order fact kept")

    packages = await logs.ask(analytics("package", 2036), UsageAnalytics)
    assert [(g.key, g.count, g.quantity, g.members) for g in packages.groups] == [
        ("pkg_eu_5gb", 4, 5, 3)
    ]
    assert packages.suppressed_groups == 2
    countries = await logs.ask(analytics("country", 2036), UsageAnalytics)
    assert [(g.key, g.count, g.quantity, g.members) for g in countries.groups] == [
        ("DE", 4, 5, 3),
        ("FR", 3, 3, 3),
    ]
    assert countries.suppressed_groups == 1
    no_countries = await logs.db[ORDER_FACTS].find_one({"_id": events[-1].order_id})
    assert no_countries["countries"] == []


@pytest.mark.parametrize("actor", [OPS_USER, usage_key("ptn_a")], ids=["ops_user", "partner_key"])
async def test_only_the_platform_may_ask_for_analytics(logs: Logs, actor: Actor) -> None:
    """Users (even ops) and partners' keys are refused."""
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(analytics("endpoint", 2031, actor), UsageAnalytics)
    assert refused.value.code == "forbidden"


async def test_a_period_over_93_days_is_an_invalid_request(logs: Logs) -> None:
    """Analytics periods are bounded like usage periods."""
    query = analytics("day", 2037).model_copy(update={"period_to": at(2037, 4, 5, 0)})
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(query, UsageAnalytics)
    assert refused.value.code == "invalid_request"


def test_k_comes_from_the_environment_and_defaults_to_5(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANALYTICS_MIN_GROUP_SIZE sets k; without it k is 5; below 2 it is refused."""
    monkeypatch.delenv("ANALYTICS_MIN_GROUP_SIZE", raising=False)
    assert LogsSettings().analytics_min_group_size == 5
    monkeypatch.setenv("ANALYTICS_MIN_GROUP_SIZE", "10")
    assert LogsSettings().analytics_min_group_size == 10
    monkeypatch.setenv("ANALYTICS_MIN_GROUP_SIZE", "1")
    with pytest.raises(ValueError, match="analytics_min_group_size"):
        LogsSettings()
