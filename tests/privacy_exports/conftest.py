"""Fixtures of the export-package tests: the privacy service with export packages registered,
a data owner whose exports travel in parts, and a caller, in a fresh namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from exports_support import (
    OWNER,
    Clock,
    Gateway,
    World,
    large_owner,
    partner_key,
    privacy_with_exports,
)

from accounts.app import create_service as create_accounts
from accounts.settings import AccountsSettings
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from privacy import store
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.service import Service
from support.services import fresh_namespace, running
from support.waiting import eventually


@pytest.fixture
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[World]:
    """Privacy, the data owner `alpha` and a caller, running, once
    privacy knows alpha."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER, "caller"]) as base:
        clock = Clock()
        privacy = privacy_with_exports(base, clock)
        owner, _ = large_owner(base)
        caller = Service.create("caller", base, stateless=True)
        async with running(privacy, owner, caller):

            async def alpha_known() -> bool:
                key = await privacy.db["receipt_keys"].find_one({"service": OWNER})
                return key is not None and OWNER in await store.registered_services(privacy.db)

            await eventually(alpha_known, what="alpha registered")
            yield World(privacy=privacy, owner=owner, caller=caller, clock=clock)


@pytest.fixture
async def through_gateway(amqp_url: str, mongo_url: str) -> AsyncIterator[Gateway]:
    """Accounts, privacy (with export packages), alpha and the gateway (with the download
    route) running, and a partner's API key with `privacy:read` and `privacy:write`."""
    services = ["accounts", "privacy", OWNER, "gateway", "caller"]
    async with fresh_namespace(amqp_url, mongo_url, services) as base:
        clock = Clock()
        accounts = create_accounts(
            AccountsSettings.model_validate(
                {
                    **base.model_dump(),
                    "api_key_pepper": "export-tests-pepper-0123456789abcdef",
                    "master_keys": LocalMasterKeys.generate(),
                    "blind_index_key": BlindIndex.generate_key(),
                    "retention_sweep_first_delay_seconds": 3600,
                }
            )
        )
        privacy = privacy_with_exports(base, clock)
        owner, _ = large_owner(base)
        caller = Service.create("caller", base, stateless=True)
        app = create_gateway(GatewaySettings(**base.model_dump()))
        gateway = TestServer(app)
        async with running(privacy, owner, caller, accounts):

            async def owners_known() -> bool:
                keys = {d["service"] async for d in privacy.db["receipt_keys"].find({})}
                return keys >= {OWNER, "accounts"}

            await eventually(owners_known, what="alpha and accounts registered")
            await gateway.start_server()
            try:
                world = World(privacy=privacy, owner=owner, caller=caller, clock=clock)
                partner_id, key = await partner_key(world)
                async with aiohttp.ClientSession(
                    base_url=str(gateway.make_url("/")),
                    headers={"Authorization": f"Bearer {key}"},
                ) as api:
                    base_url = str(gateway.make_url("/"))
                    yield Gateway(world=world, api=api, base_url=base_url, partner_id=partner_id)
            finally:
                await gateway.close()
