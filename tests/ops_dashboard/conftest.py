"""Fixtures of the ops dashboard tests: the real accounts and gateway in-process in a fresh
namespace, a flaky service whose commands dead-letter, a stand-in privacy service with fixed
requests, and platform and partner users; every `Set-Cookie` is audited at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestServer
from ops_dashboard_support import (
    FLAKY,
    OPS_EMAIL,
    PARTNER_EMAIL,
    SUPPORT_EMAIL,
    OpsWorld,
    PrivacyStandIn,
    privacy_request,
    running_flaky,
)

from accounts.app import create_service as create_accounts
from contracts import Query, Reply
from contracts.accounts import Role
from contracts.dashboard import CreateUser, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from contracts.privacy import ListPrivacyRequests, RequestStatus
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from partner_dashboard.dashboard_support import PASSWORD, Browser, audited_browsers
from servicekit.clock import utcnow
from servicekit.service import Service
from support.accounts_owner import OPS, accounts_settings
from support.services import fresh_namespace, running

R = TypeVar("R", bound=Reply)
SERVICES = ["accounts", "gateway", "tester", "privacy", FLAKY]


def _sample_requests() -> PrivacyStandIn:
    now = utcnow()
    return PrivacyStandIn(
        [
            privacy_request(1, RequestStatus.IN_PROGRESS, now, timedelta(days=-2)),
            privacy_request(2, RequestStatus.IN_PROGRESS, now, timedelta(days=3)),
            privacy_request(3, RequestStatus.AWAITING_APPROVAL, now, timedelta(days=20)),
            privacy_request(4, RequestStatus.COMPLETED, now, timedelta(days=-5)),
        ]
    )


@pytest.fixture
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[OpsWorld]:
    """Accounts, the gateway, the flaky service and privacy's stand-in, with the users."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        caller = Service.create("tester", base, stateless=True)
        privacy = Service.create("privacy", base, stateless=True)
        stand_in = _sample_requests()
        privacy.router.answer(ListPrivacyRequests, stand_in.list)
        accounts = create_accounts(accounts_settings(base))
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(caller, privacy, accounts), running_flaky(base) as flaky:
            await _users(caller)
            await gateway.start_server()
            try:
                yield OpsWorld(gateway, flaky, stand_in)
            finally:
                await gateway.close()


async def _users(caller: Service) -> None:
    async def ask(query: Query, reply: type[R]) -> R:
        return await caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    partner = await ask(
        CreatePartner(
            actor=OPS,
            business_name="Ops Test Roaming",
            registration_number="HRB 777",
            address=PostalAddress(line1="Kai 1", city="Hamburg", country="DE"),
            phone="+4940765432",
        ),
        PartnerView,
    )
    people = [
        (None, "Otto Ops", OPS_EMAIL, Role.OPS),
        (None, "Sue Support", SUPPORT_EMAIL, Role.SUPPORT),
        (partner.id, "Pat Partner", PARTNER_EMAIL, Role.OWNER),
    ]
    for partner_id, name, email, role in people:
        user = CreateUser(
            actor=OPS, partner_id=partner_id, name=name, email=email, role=role, password=PASSWORD
        )
        await ask(user, UserView)


@pytest.fixture
async def sign_in(world: OpsWorld) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """Browsers signed in as the given user; their cookies are audited at the end."""
    async with audited_browsers(world.url) as new_browser:

        async def signed_in(email: str) -> Browser:
            browser = await new_browser()
            answer = await browser.log_in(email)
            assert answer.status == 303, answer.text
            return browser

        yield signed_in
