"""Fixtures of the privacy pages' tests: accounts (a real data owner), privacy (mailing its
codes to the dev stack's SMTP sink, run as a process) and the gateway, in-process in one
fresh namespace for the whole module; a partner with an owner and a viewer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestServer
from privacy_pages_support import PrivacyWorld

from contracts import Query, Reply
from contracts.accounts import Role
from contracts.dashboard import CreateUser, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from partner_dashboard.dashboard_support import (
    OWNER_EMAIL,
    PASSWORD,
    VIEWER_EMAIL,
    Browser,
    audited_browsers,
)
from privacy.export_links import generate_link_key
from privacy_verification.verification_support import MailSink, running_mail_sink
from servicekit.crypto import BlindIndex
from servicekit.service import Service
from support.accounts_owner import OPS
from support.privacy_owners import owner_builders, privacy_service, until_registered
from support.services import fresh_namespace, running

SERVICES = ["accounts", "privacy", "gateway", "tester"]
R = TypeVar("R", bound=Reply)


@pytest.fixture(scope="module")
async def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MailSink]:
    """`python -m devstack smtp` on free ports, stopped after the module's tests."""
    async with running_mail_sink(tmp_path_factory.mktemp("smtp")) as sink:
        yield sink


@pytest.fixture(scope="module")
def smtp_env(mail_sink: MailSink) -> Iterator[None]:
    """Privacy's mail settings (read from the environment) aimed at the sink."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMTP_HOST", "127.0.0.1")
        patch.setenv("SMTP_PORT", str(mail_sink.smtp_port))
        yield


@pytest.fixture(scope="module")
async def world(
    amqp_url: str, mongo_url: str, mail_sink: MailSink, smtp_env: None
) -> AsyncIterator[PrivacyWorld]:
    """The platform for the module's tests, with its partner and people."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        blind_index_key = BlindIndex.generate_key()
        caller = Service.create("tester", base, stateless=True)
        accounts = owner_builders(base, blind_index_key)["accounts"]()
        privacy = privacy_service(
            base, blind_index_key=blind_index_key, export_link_key=generate_link_key()
        )
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(caller, accounts, privacy):
            await until_registered(privacy.db, ["accounts"])
            await gateway.start_server()
            try:
                yield await _seeded(gateway, caller, mail_sink)
            finally:
                await gateway.close()


async def _seeded(gateway: TestServer, caller: Service, mail: MailSink) -> PrivacyWorld:
    async def ask(query: Query, reply: type[R]) -> R:
        return await caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    partner = await ask(
        CreatePartner(
            actor=OPS,
            business_name="Privacy Pages Roaming GmbH",
            registration_number="HRB 7171",
            address=PostalAddress(line1="Deichstraße 3", city="Hamburg", country="DE"),
            phone="+4940765432",
        ),
        PartnerView,
    )
    people: dict[Role, UserView] = {}
    for name, email, role in [
        ("Olive Owner", OWNER_EMAIL, Role.OWNER),
        ("Victor Viewer", VIEWER_EMAIL, Role.VIEWER),
    ]:
        request = CreateUser(
            actor=OPS, partner_id=partner.id, name=name, email=email, role=role, password=PASSWORD
        )
        people[role] = await ask(request, UserView)
    return PrivacyWorld(gateway, caller, partner, people[Role.OWNER], people[Role.VIEWER], mail)


@pytest.fixture
async def new_browser(world: PrivacyWorld) -> AsyncIterator[Callable[[], Awaitable[Browser]]]:
    """New browsers, their cookies audited when the test ends."""
    async with audited_browsers(world.url) as make:
        yield make


async def _signed_in(make: Callable[[], Awaitable[Browser]], email: str) -> Browser:
    browser = await make()
    answer = await browser.log_in(email)
    assert answer.status == 303, answer.text
    return browser


@pytest.fixture
async def owner(new_browser: Callable[[], Awaitable[Browser]]) -> Browser:
    """A browser signed in as the partner's owner."""
    return await _signed_in(new_browser, OWNER_EMAIL)


@pytest.fixture
async def viewer(new_browser: Callable[[], Awaitable[Browser]]) -> Browser:
    """A browser signed in as the partner's viewer."""
    return await _signed_in(new_browser, VIEWER_EMAIL)
