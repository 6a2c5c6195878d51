"""Fixtures of the dashboard tests: the real accounts service and the real gateway in-process in
a fresh namespace, a partner with an owner and a viewer, and browsers whose every received
`Set-Cookie` is audited when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestServer
from dashboard_support import (
    BUSINESS_NAME,
    LOGIN_MAX_FAILURES,
    OWNER_EMAIL,
    PASSWORD,
    VIEWER_EMAIL,
    Browser,
    DashboardWorld,
    audited_browsers,
)

from accounts.app import create_service as create_accounts
from contracts import Query, Reply
from contracts.accounts import Role
from contracts.dashboard import CreateUser, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from servicekit.service import Service
from support.accounts_owner import OPS, accounts_settings
from support.services import fresh_namespace, running

R = TypeVar("R", bound=Reply)
SERVICES = ["accounts", "gateway", "tester"]


@pytest.fixture
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[DashboardWorld]:
    """Accounts (3 failed logins lock an account) and the gateway, with a seeded partner."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        caller = Service.create("tester", base, stateless=True)
        accounts = create_accounts(accounts_settings(base, login_max_failures=LOGIN_MAX_FAILURES))
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(caller, accounts):
            await gateway.start_server()
            try:
                yield await _seeded(gateway, caller)
            finally:
                await gateway.close()


async def _seeded(gateway: TestServer, caller: Service) -> DashboardWorld:
    async def ask(query: Query, reply: type[R]) -> R:
        return await caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    partner = await ask(
        CreatePartner(
            actor=OPS,
            business_name=BUSINESS_NAME,
            registration_number="HRB 4242",
            address=PostalAddress(line1="Hafenstraße 7", city="Hamburg", country="DE"),
            phone="+4940123456",
        ),
        PartnerView,
    )

    async def user(name: str, email: str, role: Role) -> UserView:
        request = CreateUser(
            actor=OPS, partner_id=partner.id, name=name, email=email, role=role, password=PASSWORD
        )
        return await ask(request, UserView)

    owner = await user("Olive Owner", OWNER_EMAIL, Role.OWNER)
    viewer = await user("Victor Viewer", VIEWER_EMAIL, Role.VIEWER)
    return DashboardWorld(gateway, caller, partner, owner, viewer)


@pytest.fixture
async def browser_factory(
    world: DashboardWorld,
) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    """New browsers, their cookies audited when the test ends."""
    async with audited_browsers(world.url) as new_browser:
        yield new_browser


@pytest.fixture
async def browser(browser_factory: Callable[[], Awaitable[Browser]]) -> Browser:
    """A fresh browser, signed in nowhere."""
    return await browser_factory()


@pytest.fixture
async def owner(browser: Browser) -> Browser:
    """A browser signed in as the partner's owner."""
    answer = await browser.log_in(OWNER_EMAIL)
    assert answer.status == 303, answer.text
    return browser
