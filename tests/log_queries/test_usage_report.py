"""A partner's API usage over the bus: numbers and percentiles against a known set of
records, the period's bounds, who may read it, and bad periods."""

from __future__ import annotations

import pytest
from log_query_support import PLATFORM, Logs, at, owner_of, usage_key

from contracts.accounts import Role, Scope
from contracts.log_queries import ApiUsage, GetApiUsage
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id


def usage_query(partner_id: str, actor_partner: str | None = None, **period: object) -> GetApiUsage:
    """GetApiUsage of November 2030 (unless the period is given) by the partner's own key."""
    values: dict[str, object] = {
        "actor": usage_key(actor_partner or partner_id),
        "partner_id": partner_id,
        "period_from": at(2030, 11, 1, 0),
        "period_to": at(2030, 12, 1, 0),
    }
    values.update(period)
    return GetApiUsage.model_validate(values)


async def test_usage_counts_errors_and_percentiles_per_day_and_route(logs: Logs) -> None:
    """Requests, 4xx/5xx, error rate and nearest-rank p50/p95/p99 per route, day and total."""
    partner = new_id("ptn")
    for duration in range(1, 101):  # 100 pings on two days, 1..100 ms
        day = 2 if duration <= 60 else 3
        await logs.add_request(partner, received_at=at(2030, 11, day), duration_ms=duration)
    for status in (404, 422, 500):
        await logs.add_request(
            partner,
            received_at=at(2030, 11, 3),
            route="/v1/orders/{id}",
            status=status,
            duration_ms=1000.0,
        )
    await logs.add_request(new_id("ptn"), received_at=at(2030, 11, 2))  # another partner
    await logs.add_request(partner, received_at=at(2030, 10, 31, 23, 59))  # before the period

    usage = await logs.ask(usage_query(partner), ApiUsage)

    assert usage.totals.requests == 103
    assert (usage.totals.client_errors, usage.totals.server_errors) == (2, 1)
    assert usage.totals.error_rate == pytest.approx(3 / 103, abs=1e-6)
    ping, order = usage.routes[1], usage.routes[0]
    assert (ping.method, ping.route, order.route) == ("GET", "/v1/ping", "/v1/orders/{id}")
    assert ping.stats.requests == 100
    assert ping.stats.error_rate == 0
    assert ping.stats.latency_ms is not None
    assert (ping.stats.latency_ms.p50, ping.stats.latency_ms.p95) == (50.0, 95.0)
    assert ping.stats.latency_ms.p99 == 99.0
    assert order.stats.requests == 3
    assert order.stats.error_rate == 1.0
    assert [day.day for day in usage.days] == ["2030-11-02", "2030-11-03"]
    first, second = usage.days
    assert first.stats.requests == 60
    assert first.stats.latency_ms is not None
    assert first.stats.latency_ms.p50 == 30.0
    assert [route.route for route in second.routes] == ["/v1/orders/{id}", "/v1/ping"]
    assert second.stats.requests == 43


async def test_period_start_is_inclusive_and_end_exclusive(logs: Logs) -> None:
    """A request at `period_from` counts, one at `period_to` does not."""
    partner = new_id("ptn")
    await logs.add_request(partner, received_at=at(2030, 11, 10, 0))
    await logs.add_request(partner, received_at=at(2030, 11, 11, 0))
    usage = await logs.ask(
        usage_query(partner, period_from=at(2030, 11, 10, 0), period_to=at(2030, 11, 11, 0)),
        ApiUsage,
    )
    assert usage.totals.requests == 1
    assert [day.day for day in usage.days] == ["2030-11-10"]


async def test_a_period_without_requests_reports_zeros(logs: Logs) -> None:
    """No requests: zero counts, no latency, no days or routes."""
    usage = await logs.ask(usage_query(new_id("ptn")), ApiUsage)
    assert usage.totals.requests == 0
    assert usage.totals.error_rate == 0
    assert usage.totals.latency_ms is None
    assert (usage.days, usage.routes) == ([], [])


async def test_a_partner_cannot_read_another_partners_usage(logs: Logs) -> None:
    """Another partner's key or user is refused with `forbidden`."""
    partner = new_id("ptn")
    await logs.add_request(partner, received_at=at(2030, 11, 5))
    for query in (
        usage_query(partner, actor_partner=new_id("ptn")),
        usage_query(partner).model_copy(update={"actor": owner_of(new_id("ptn"))}),
    ):
        with pytest.raises(RemoteCallError) as refused:
            await logs.ask(query, ApiUsage)
        assert refused.value.code == "forbidden"


async def test_a_key_needs_the_usage_read_scope(logs: Logs) -> None:
    """The partner's own key without `usage:read` is refused."""
    partner = new_id("ptn")
    query = usage_query(partner).model_copy(
        update={"actor": usage_key(partner, [Scope.ORDERS_READ])}
    )
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(query, ApiUsage)
    assert refused.value.code == "forbidden"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.BILLING])
async def test_a_user_whose_role_lacks_usage_read_is_refused(logs: Logs, role: Role) -> None:
    """The partner's own user whose role does not grant `usage:read` is refused, as the
    dashboard refuses the page."""
    partner = new_id("ptn")
    actor = owner_of(partner).model_copy(update={"role": role})
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(usage_query(partner).model_copy(update={"actor": actor}), ApiUsage)
    assert refused.value.code == "forbidden"


async def test_the_partners_own_users_and_the_platform_may_read_it(logs: Logs) -> None:
    """The partner's owner and the platform get the partner's usage."""
    partner = new_id("ptn")
    await logs.add_request(partner, received_at=at(2030, 11, 6))
    for actor in (owner_of(partner), PLATFORM):
        usage = await logs.ask(usage_query(partner).model_copy(update={"actor": actor}), ApiUsage)
        assert usage.totals.requests == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (at(2030, 1, 1, 0), at(2030, 4, 5, 0)),  # 94 days
        (at(2030, 2, 1, 0), at(2030, 1, 1, 0)),  # reversed
        (at(2030, 1, 1, 0), at(2030, 1, 1, 0)),  # empty
    ],
)
async def test_bad_periods_are_invalid_requests(logs: Logs, start: object, end: object) -> None:
    """Periods longer than 93 days, reversed or empty are refused with `invalid_request`."""
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(usage_query(new_id("ptn"), period_from=start, period_to=end), ApiUsage)
    assert refused.value.code == "invalid_request"
