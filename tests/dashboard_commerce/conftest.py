"""Fixtures of the dashboard's commerce pages: accounts, provisioning and the gateway in-process
in a fresh namespace; a partner with an owner and a viewer, a completed order of one eSIM
stored as the order flow stores it, and its debit booked on the partner's ledger."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from commerce_support import TOP_UP, CommerceWorld

from contracts.accounts import Role
from contracts.dashboard import CreateUser, UserView
from contracts.ledger import CreditBalance, CreditKind, DebitBalance
from contracts.money import Money
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from partner_dashboard.dashboard_support import (
    OWNER_EMAIL,
    PASSWORD,
    VIEWER_EMAIL,
    Browser,
    audited_browsers,
)
from support.accounts_owner import OPS, PLATFORM, AccountsOwner, Business
from support.provisioning_owner import PACKAGE, EndUser, ProvisioningOwner
from support.services import fresh_namespace, running
from support.waiting import eventually

SERVICES = ["accounts", "provisioning", "privacy", "gateway"]


@pytest.fixture
async def world(amqp_url: str, mongo_url: str) -> AsyncIterator[CommerceWorld]:
    """The services with the seeded partner, order and ledger."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        accounts = AccountsOwner.build(base)
        provisioning = ProvisioningOwner.build(base, webhooks_allow_private_urls=True)
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(accounts.caller, accounts.service, provisioning.service):
            await gateway.start_server()
            try:
                yield await _seeded(gateway, accounts, provisioning)
            finally:
                await gateway.close()


async def _seeded(
    gateway: TestServer, accounts: AccountsOwner, provisioning: ProvisioningOwner
) -> CommerceWorld:
    partner = await accounts.partner(Business.sample())
    for email, role in [(OWNER_EMAIL, Role.OWNER), (VIEWER_EMAIL, Role.VIEWER)]:
        request = CreateUser(
            actor=OPS, partner_id=partner.id, name="Pat", email=email, role=role, password=PASSWORD
        )
        await accounts.ask(request, UserView)
    end_user = EndUser.sample(partner.id)
    await provisioning.order(end_user)
    await _book(accounts, partner.id, end_user.order_id)
    return CommerceWorld(gateway, accounts, provisioning, partner, end_user)


async def _book(accounts: AccountsOwner, partner_id: str, order_id: str) -> None:
    """A top-up, then the order's debit, as the platform books them; both applied."""
    top_up = CreditBalance(
        actor=PLATFORM,
        partner_id=partner_id,
        kind=CreditKind.TOP_UP,
        reference=f"pi_{secrets.token_hex(4)}",
        amount=Money(amount=TOP_UP, currency=PACKAGE.price.currency),
    )
    debit = DebitBalance(
        actor=PLATFORM, partner_id=partner_id, order_id=order_id, amount=PACKAGE.price
    )
    for count, command in enumerate([top_up, debit], start=1):
        await accounts.caller.bus.publish(command, to="accounts")

        async def applied(count: int = count) -> bool:
            found = {"partner_id": partner_id, "status": "applied"}
            return await accounts.db["ledger"].count_documents(found) >= count

        await eventually(applied, what=f"{count} ledger entries applied")


@pytest.fixture
async def browser_factory(world: CommerceWorld) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    """New browsers, their cookies audited when the test ends."""
    async with audited_browsers(world.url) as new_browser:
        yield new_browser


async def _signed_in(factory: Callable[[], Awaitable[Browser]], email: str) -> Browser:
    browser = await factory()
    answer = await browser.log_in(email)
    assert answer.status == 303, answer.text
    return browser


@pytest.fixture
async def owner(browser_factory: Callable[[], Awaitable[Browser]]) -> Browser:
    """A browser signed in as the partner's owner."""
    return await _signed_in(browser_factory, OWNER_EMAIL)


@pytest.fixture
async def viewer(browser_factory: Callable[[], Awaitable[Browser]]) -> Browser:
    """A browser signed in as the partner's viewer."""
    return await _signed_in(browser_factory, VIEWER_EMAIL)
