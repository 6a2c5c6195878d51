"""Helpers for the end-to-end tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp

from contracts.accounts import Actor
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from servicekit.bus import Bus
from servicekit.topology import Topology
from support.platform import Platform
from support.waiting import eventually


async def poll_request(api: aiohttp.ClientSession, request_id: str) -> dict[str, Any]:
    """Poll a privacy request until it leaves `in_progress` (bounded)."""

    async def finished() -> dict[str, Any] | None:
        async with api.get(f"/v1/privacy/requests/{request_id}") as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
        return body if body["status"] != "in_progress" else None

    return await eventually(finished, timeout=30, interval=0.2, what=f"{request_id} finished")


async def add_api_key(
    platform: Platform,
    db: Any,
    *,
    partner_id: str,
    scopes: list[str],
    name: str = "test key",
    with_partner: bool = True,
    mode: Literal["live", "test"] = "test",
) -> str:
    """Store a new test-mode API key for a partner (as accounts' seed does); return the key.

    A partner unknown to accounts gets a bare active record: keys work only for active ones.
    """
    from accounts import apikeys
    from servicekit.clock import utcnow

    key, parsed = apikeys.generate(mode)
    accounts = db[platform.database("accounts")]
    if with_partner:
        await accounts["partners"].update_one(
            {"_id": partner_id}, {"$setOnInsert": {"status": "active"}}, upsert=True
        )
    await accounts["api_keys"].insert_one(
        {
            "_id": parsed.key_id,
            "partner_id": partner_id,
            "prefix": parsed.prefix,
            "mode": parsed.mode,
            "scopes": scopes,
            "secret_hmac": apikeys.secret_digest(parsed.secret, platform.env["API_KEY_PEPPER"]),
            "created_at": utcnow(),
            "name": name,
        }
    )
    return key


PLATFORM_ACTOR = Actor(kind="platform", id="e2e")
"""The platform itself (an internal job), as tests that book money or create partners act."""


@contextlib.asynccontextmanager
async def platform_bus(platform: Platform) -> AsyncIterator[Bus]:
    """A bus connection on the platform's namespace, for what only the platform may ask."""
    bus = Bus(url=platform.env["AMQP_URL"], topology=Topology(platform.namespace), service="e2e")
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.close()


async def create_partner(bus: Bus, business_name: str, currency: str = "EUR") -> PartnerView:
    """A new partner, created by the platform through accounts."""
    request = CreatePartner(
        actor=PLATFORM_ACTOR,
        business_name=business_name,
        registration_number="HRB 424242",
        tax_id="DE000000001",
        address=PostalAddress(line1="Test Street 1", city="Berlin", country="DE"),
        phone="+4930555000111",
        currency=currency,
    )
    return await bus.request(request, to="accounts", reply=PartnerView, timeout=10)
