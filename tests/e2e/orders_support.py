"""Buyers for the order tests: a new partner with a known balance and a key, and helpers to
buy, read balances and steer the provider simulator."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from e2e_support import PLATFORM_ACTOR, Platform, add_api_key, create_partner, platform_bus

from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from servicekit.ids import new_id
from support.waiting import eventually

BUYER_SCOPES = ["orders:read", "orders:write", "esims:read", "billing:read", "webhooks:manage"]
PACKAGE = "pkg_de_1gb_7d"
PACKAGE_PRICE = 499
"""The demo catalogue's price of PACKAGE, in euro cents."""


@dataclass
class Buyer:
    """A partner that buys through the API."""

    partner_id: str
    api: aiohttp.ClientSession

    async def order(
        self, body: dict[str, Any], key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /v1/orders with an idempotency key (a new one unless given)."""
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        async with self.api.post("/v1/orders", json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def get(self, path: str) -> tuple[int, Any]:
        """GET a path of the API: status and JSON body."""
        async with self.api.get(path) as response:
            return response.status, await response.json(content_type=None)

    async def balance(self) -> int:
        """The available balance in cents."""
        status, body = await self.get("/v1/balance")
        assert status == 200, body
        return int(body["available"]["amount"])

    async def finished(self, path: str) -> dict[str, Any]:
        """The order or top-up at `path` once it is no longer pending."""

        async def done() -> dict[str, Any] | None:
            status, body = await self.get(path)
            assert status == 200, body
            return body if body["status"] != "pending" else None

        return await eventually(done, timeout=30, interval=0.1, what=f"{path} finished")


@contextlib.asynccontextmanager
async def new_buyer(platform: Platform, db: Any, balance_cents: int) -> AsyncIterator[Buyer]:
    """A fresh partner holding `balance_cents` euro cents, with a key of BUYER_SCOPES."""
    async with platform_bus(platform) as bus:
        partner = await create_partner(bus, f"Buyer {new_id('t')}")
        if balance_cents:
            credit = CreditBalance(
                actor=PLATFORM_ACTOR,
                partner_id=partner.id,
                kind=CreditKind.TOP_UP,
                reference=new_id("pay"),
                amount=Money(amount=balance_cents, currency="EUR"),
            )
            await bus.publish(credit, to="accounts")
    key = await add_api_key(platform, db, partner_id=partner.id, scopes=BUYER_SCOPES)
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        buyer = Buyer(partner_id=partner.id, api=api)
        if balance_cents:
            await eventually(
                lambda: _has(buyer, balance_cents), timeout=15, what="the credit booked"
            )
        yield buyer


@contextlib.asynccontextmanager
async def key_client(
    platform: Platform, db: Any, scopes: list[str]
) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of a new partner's key that holds only `scopes`."""
    key = await add_api_key(platform, db, partner_id=new_id("ptn"), scopes=scopes)
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    ) as session:
        yield session


async def _has(buyer: Buyer, cents: int) -> bool:
    async with buyer.api.get("/v1/balance") as response:
        if response.status != 200:
            return False
        body = await response.json()
    return bool(body["available"]["amount"] == cents)


@contextlib.asynccontextmanager
async def provider_faults(platform: Platform, **faults: float) -> AsyncIterator[None]:
    """The simulator misbehaves as told inside the block, and is well again after."""
    url = f"{platform.url('providersim')}/_sim/config"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=faults) as response:
            assert response.status == 200
        try:
            yield
        finally:
            calm = {
                "failure_rate": 0,
                "timeout_rate": 0,
                "latency_min_ms": 20,
                "latency_max_ms": 120,
            }
            async with session.post(url, json=calm) as response:
                assert response.status == 200


async def provider_requests(platform: Platform) -> list[dict[str, Any]]:
    """Every request the simulator's API received."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.url('providersim')}/_sim/received") as response,
    ):
        body: dict[str, Any] = await response.json()
    requests: list[dict[str, Any]] = body["requests"]
    return requests
