"""`GET /v1/usage` against the running platform: the gateway's request records reach the
logs service and come back as the partner's own usage; the scope, tenant isolation and bad
periods. And a completed order reaches logs as an order fact with its package's countries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from e2e_support import Platform, add_api_key
from orders_support import PACKAGE, new_buyer

from servicekit.ids import new_id
from support.waiting import eventually

PROBLEM_JSON = "application/problem+json"


def keyed(platform: Platform, key: str) -> aiohttp.ClientSession:
    """A client of the partners' API authenticated with `key`."""
    return aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    )


async def usage_of(api: aiohttp.ClientSession, **params: str) -> dict[str, Any]:
    """The body of a successful `GET /v1/usage`."""
    async with api.get("/v1/usage", params=params) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
    return body


def route_stats(usage: dict[str, Any], method: str, route: str) -> dict[str, Any] | None:
    """The period's numbers of one endpoint, or None."""
    for entry in usage["routes"]:
        if (entry["method"], entry["route"]) == (method, route):
            stats: dict[str, Any] = entry["stats"]
            return stats
    return None


async def problem(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    """The problem document of a response that must have this status."""
    text = await response.text()
    assert response.status == status, text
    body: dict[str, Any] = await response.json(content_type=PROBLEM_JSON)
    return body


async def test_a_partner_reads_its_own_usage_per_endpoint_and_day(
    platform: Platform, db: Any
) -> None:
    """Requests made with a key show up in its partner's usage, with errors and latency."""
    partner = new_id("ptn")
    key = await add_api_key(platform, db, partner_id=partner, scopes=["usage:read"])
    async with keyed(platform, key) as api:
        for _ in range(3):
            async with api.get("/v1/ping") as response:
                assert response.status == 200
        async with api.get("/v1/packages/pkg_no_such_package") as response:
            assert response.status == 404

        async def recorded() -> dict[str, Any] | None:
            usage = await usage_of(api)
            ping = route_stats(usage, "GET", "/v1/ping")
            package = route_stats(usage, "GET", "/v1/packages/{id}")
            counted = ping and package and ping["requests"] == 3 and package["requests"] == 1
            return usage if counted else None

        usage = await eventually(recorded, timeout=20, interval=0.3, what="requests counted")

    assert usage["partner_id"] == partner
    package = route_stats(usage, "GET", "/v1/packages/{id}")
    assert package is not None
    assert (package["client_errors"], package["server_errors"], package["error_rate"]) == (1, 0, 1)
    ping = route_stats(usage, "GET", "/v1/ping")
    assert ping is not None
    assert ping["latency_ms"]["p50"] <= ping["latency_ms"]["p99"]
    today = datetime.now(UTC).date().isoformat()
    assert today in [day["day"] for day in usage["days"]]
    assert usage["totals"]["requests"] >= 4


async def test_another_partner_sees_none_of_it(platform: Platform, db: Any) -> None:
    """A partner's usage holds only requests made with its own keys."""
    busy, quiet = new_id("ptn"), new_id("ptn")
    busy_key = await add_api_key(platform, db, partner_id=busy, scopes=["usage:read"])
    quiet_key = await add_api_key(platform, db, partner_id=quiet, scopes=["usage:read"])
    async with keyed(platform, busy_key) as api:
        async with api.get("/v1/ping") as response:
            assert response.status == 200

        async def pinged() -> bool:
            return route_stats(await usage_of(api), "GET", "/v1/ping") is not None

        await eventually(pinged, timeout=20, interval=0.3, what="the ping counted")
    async with keyed(platform, quiet_key) as api:
        usage = await usage_of(api)
    assert usage["partner_id"] == quiet
    assert route_stats(usage, "GET", "/v1/ping") is None


async def test_usage_needs_the_usage_read_scope(platform: Platform, db: Any) -> None:
    """A key without `usage:read` gets 403 insufficient_scope."""
    key = await add_api_key(platform, db, partner_id=new_id("ptn"), scopes=["orders:read"])
    async with keyed(platform, key) as api, api.get("/v1/usage") as response:
        assert (await problem(response, 403))["code"] == "insufficient_scope"


async def test_bad_periods_are_refused(platform: Platform, db: Any) -> None:
    """A reversed period or one longer than 93 days is a 422; so is a date without a time."""
    key = await add_api_key(platform, db, partner_id=new_id("ptn"), scopes=["usage:read"])
    now = datetime.now(UTC).replace(microsecond=0)
    long_ago = (now - timedelta(days=94)).isoformat().replace("+00:00", "Z")
    later = (now + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    earlier = now.isoformat().replace("+00:00", "Z")
    async with keyed(platform, key) as api:
        async with api.get("/v1/usage", params={"from": later, "to": earlier}) as response:
            assert (await problem(response, 422))["code"] == "validation_failed"
        async with api.get("/v1/usage", params={"from": long_ago, "to": earlier}) as response:
            body = await problem(response, 422)
            assert body["code"] == "invalid_request"
            assert "93 days" in body["detail"]
        async with api.get("/v1/usage", params={"from": "2026-11-01"}) as response:
            assert (await problem(response, 422))["code"] == "validation_failed"


async def test_a_completed_order_becomes_an_order_fact_with_its_countries(
    platform: Platform, db: Any
) -> None:
    """Logs keeps what a completed order sold (package, countries, quantity), nothing more."""
    async with new_buyer(platform, db, 10_000) as buyer:
        status, order = await buyer.order({"package_id": PACKAGE, "quantity": 2})
        assert status == 201, order
    facts = db[platform.database("logs")]["order_facts"]

    async def kept() -> dict[str, Any] | None:
        fact: dict[str, Any] | None = await facts.find_one({"_id": order["id"]})
        return fact

    fact = await eventually(kept, timeout=20, interval=0.2, what="the order fact kept")
    package = db[platform.database("provisioning")]["packages"]
    stored = await package.find_one({"_id": PACKAGE})
    assert stored is not None
    assert fact["countries"] == sorted(stored["countries"])
    assert fact["countries"]
    assert (fact["partner_id"], fact["package_id"], fact["quantity"]) == (
        buyer.partner_id,
        PACKAGE,
        2,
    )
    assert set(fact) == {
        "_id",
        "partner_id",
        "package_id",
        "countries",
        "quantity",
        "completed_at",
        "day",
    }
