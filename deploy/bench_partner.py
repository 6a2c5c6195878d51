"""The benchmark's buyer: a new partner with a balance for every order, and an API key.

The partner is created and credited through accounts over the bus, as the platform does; the
key is stored in accounts' database the way accounts' own seed stores the demo key (there is
no bus command for the platform to issue a partner's key).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from platform_procs import LocalPlatform, PlatformError
from pymongo import AsyncMongoClient

from accounts import apikeys, keys_store
from accounts.store import API_KEYS
from contracts.accounts import Actor, Scope
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.ids import new_id
from servicekit.topology import Topology

BENCH = Actor(kind="platform", id="bench")
CURRENCY = "EUR"
CREDIT_PER_ORDER = 1_000_000
"""Euro cents credited per order: 10,000 EUR, more than any one-eSIM package costs."""
SCOPES = [Scope.ORDERS_WRITE, Scope.ORDERS_READ, Scope.BILLING_READ]
"""The gateway reads the order back with the caller's own key, so buying needs orders:read."""
BUS_TIMEOUT_S = 10.0
CREDIT_TIMEOUT_S = 60.0
"""Long enough for a freshly started platform on a busy two-core machine."""


@dataclass(frozen=True)
class BenchPartner:
    """The buyer: its id and its API key (a secret: never printed)."""

    partner_id: str
    key: str


async def create_partner(
    platform: LocalPlatform, orders: int, scopes: Sequence[Scope] = SCOPES
) -> BenchPartner:
    """A new partner credited for `orders` orders, with a key of `scopes`; waits for the
    credit."""
    credit = orders * CREDIT_PER_ORDER
    bus = Bus(url=platform.amqp_url, topology=Topology(platform.namespace), service="bench")
    await bus.connect()
    try:
        partner = await bus.request(
            _partner_request(), to="accounts", reply=PartnerView, timeout=BUS_TIMEOUT_S
        )
        top_up = CreditBalance(
            actor=BENCH,
            partner_id=partner.id,
            kind=CreditKind.TOP_UP,
            reference=new_id("pay"),
            amount=Money(amount=credit, currency=CURRENCY),
        )
        await bus.publish(top_up, to="accounts")
    finally:
        await bus.close()
    key = await _store_key(platform, partner.id, scopes)
    await _wait_for_balance(platform.url("gateway"), key, credit)
    return BenchPartner(partner.id, key)


def _partner_request() -> CreatePartner:
    return CreatePartner(
        actor=BENCH,
        business_name=f"Bench Buyer {new_id('b')}",
        registration_number="HRB 123456",
        tax_id="DE000000001",
        address=PostalAddress(line1="Bench Street 1", city="Berlin", country="DE"),
        phone="+4930555000111",
        currency=CURRENCY,
    )


async def _store_key(platform: LocalPlatform, partner_id: str, scopes: Sequence[Scope]) -> str:
    """A new test-mode key of the partner, stored as accounts stores keys."""
    key, parsed = apikeys.generate("test")
    document = keys_store.key_document(
        parsed,
        partner_id=partner_id,
        name="bench key",
        scopes=list(scopes),
        secret_hmac=apikeys.secret_digest(parsed.secret, platform.env["API_KEY_PEPPER"]),
        actor=BENCH,
        now=utcnow(),
    )
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(platform.mongo_url)
    try:
        await client[f"{platform.namespace}_accounts"][API_KEYS].insert_one(document)
    finally:
        await client.close()
    return key


async def _wait_for_balance(gateway: str, key: str, cents: int) -> None:
    """Poll the partner's balance through the API until the credit shows (bounded)."""
    deadline = time.monotonic() + CREDIT_TIMEOUT_S
    async with aiohttp.ClientSession(
        base_url=gateway, headers={"Authorization": f"Bearer {key}"}
    ) as session:
        while time.monotonic() < deadline:
            async with session.get("/v1/balance") as response:
                body = await response.json(content_type=None)
            if response.status == 200 and body["available"]["amount"] == cents:
                return
            await asyncio.sleep(0.2)
    raise PlatformError(f"the bench partner's credit did not show within {CREDIT_TIMEOUT_S} s")
