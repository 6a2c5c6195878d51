"""Fixtures of the ops status tests: accounts, the real privacy service, the gateway and a
caller service in-process in one fresh namespace per module, every service reporting its
status every REPORT_SECONDS; browsers signed in as the given user, cookies audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from ops_status_support import REPORT_SECONDS, StatusWorld, create_users

from accounts.app import create_service as create_accounts
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from partner_dashboard.dashboard_support import Browser, audited_browsers
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.accounts_owner import accounts_settings
from support.privacy_owners import privacy_service
from support.services import fresh_namespace, running

SERVICES = ["accounts", "gateway", "privacy", "tester", "beta"]


@pytest.fixture(scope="module")
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[StatusWorld]:
    """The platform slice, running, with an ops user and a partner's owner."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as fresh:
        base = ServiceSettings(**{**fresh.model_dump(), "status_report_seconds": REPORT_SECONDS})
        caller = Service.create("tester", base, stateless=True)
        accounts = create_accounts(accounts_settings(base))
        privacy = privacy_service(base)
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(caller, privacy, accounts):
            await create_users(caller)
            await gateway.start_server()
            try:
                yield StatusWorld(gateway, caller)
            finally:
                await gateway.close()


@pytest.fixture
async def sign_in(world: StatusWorld) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """Browsers signed in as the given user; their cookies are audited at the end."""
    async with audited_browsers(world.url) as new_browser:

        async def signed_in(email: str) -> Browser:
            browser = await new_browser()
            answer = await browser.log_in(email)
            assert answer.status == 303, answer.text
            return browser

        yield signed_in
