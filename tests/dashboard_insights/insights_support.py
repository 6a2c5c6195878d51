"""What the dashboard insight tests share: the platform they run against (accounts,
provisioning, logs, privacy and the gateway, in-process in one namespace), two partners
with their people, and readers of what the services stored."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp.test_utils import TestServer
from yarl import URL

from contracts import Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import CreateApiKey, NewApiKey
from contracts.dashboard import CreateUser, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from contracts.policy import GetPolicyNotices, PolicyNotice, PolicyNotices
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from partner_dashboard.dashboard_support import OWNER_EMAIL, PASSWORD, VIEWER_EMAIL, Browser
from servicekit.service import Service
from support.accounts_owner import OPS, PLATFORM
from support.privacy_owners import data_owners, privacy_service
from support.services import fresh_namespace, running
from support.waiting import eventually

R = TypeVar("R", bound=Reply)
SERVICES = ["accounts", "provisioning", "logs", "privacy", "gateway", "tester"]
OTHER_OWNER_EMAIL = "otto.other@insights.example.org"
TOP_UP = 5_000
"""The first partner's balance, in minor units (EUR)."""
CHEAP_PACKAGE = "pkg_europe_5gb_30d"
NewBrowser = Callable[[str], Awaitable[Browser]]
"""Opens a browser signed in as the person of this email."""


@dataclass
class InsightsWorld:
    """The running platform, a caller on the bus, and two partners (the first with an
    owner, a viewer and a balance; the other with an owner only)."""

    gateway: TestServer
    caller: Service
    services: dict[str, Service]
    partner: PartnerView
    other: PartnerView

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))

    async def ask(self, query: Query, reply: type[R], to: str) -> R:
        """Ask a service over the bus as the tests' own caller."""
        return await self.caller.bus.request(query, to=to, reply=reply, timeout=15)

    async def orders_of(self, partner_id: str) -> int:
        """How many orders provisioning stored for the partner."""
        found = {"partner_id": partner_id, "kind": "order"}
        return await self.services["provisioning"].db["orders"].count_documents(found)

    async def api_key(self, partner_id: str, *scopes: Scope) -> str:
        """A new test-mode API key of the partner."""
        request = CreateApiKey(
            actor=OPS, partner_id=partner_id, name="insights", scopes=list(scopes), mode="test"
        )
        return (await self.ask(request, NewApiKey, "accounts")).api_key.get_secret_value()

    async def notices(self, partner_id: str) -> list[PolicyNotice]:
        """The partner's policy notices as privacy keeps them."""
        answer = await self.ask(GetPolicyNotices(partner_id=partner_id), PolicyNotices, "privacy")
        return answer.notices


async def new_partner(world_caller: Service, people: dict[str, Role]) -> PartnerView:
    """A partner with dashboard users (email → role), all with the shared PASSWORD."""
    tag = secrets.token_hex(3)
    request = CreatePartner(
        actor=OPS,
        business_name=f"Insight Roaming {tag} <Ltd>",
        registration_number="HRB 4242",
        address=PostalAddress(line1=f"Chartweg {tag}", city="Potsdam", country="DE"),
        phone="+4930123456",
    )
    ask = world_caller.bus.request
    partner = await ask(request, to="accounts", reply=PartnerView, timeout=15)
    for email, role in people.items():
        user = CreateUser(
            actor=OPS, partner_id=partner.id, name="Pat", email=email, role=role, password=PASSWORD
        )
        await ask(user, to="accounts", reply=UserView, timeout=15)
    return partner


async def top_up(world_caller: Service, accounts: Service, partner_id: str) -> None:
    """Credit TOP_UP to the partner's balance, as the platform books a payment; applied."""
    credit = CreditBalance(
        actor=PLATFORM,
        partner_id=partner_id,
        kind=CreditKind.TOP_UP,
        reference=f"pi_{secrets.token_hex(4)}",
        amount=Money(amount=TOP_UP, currency="EUR"),
    )
    await world_caller.bus.publish(credit, to="accounts")

    async def applied() -> bool:
        found = {"partner_id": partner_id, "status": "applied"}
        return await accounts.db["ledger"].count_documents(found) >= 1

    await eventually(applied, what="the top-up applied")


@contextlib.asynccontextmanager
async def insights_world(amqp_url: str, mongo_url: str) -> AsyncIterator[InsightsWorld]:
    """The platform in a fresh namespace, with the partners seeded; stopped after."""
    async with fresh_namespace(amqp_url, mongo_url, SERVICES) as base:
        owners = data_owners(base)
        services = {service.name: service for service in [*owners, privacy_service(base)]}
        caller = Service.create("tester", base, stateless=True)
        gateway = TestServer(create_gateway(GatewaySettings(**base.model_dump())))
        async with running(caller, *services.values()):
            await gateway.start_server()
            try:
                yield await _seeded(gateway, caller, services)
            finally:
                await gateway.close()


async def _seeded(
    gateway: TestServer, caller: Service, services: dict[str, Service]
) -> InsightsWorld:
    partner = await new_partner(caller, {OWNER_EMAIL: Role.OWNER, VIEWER_EMAIL: Role.VIEWER})
    other = await new_partner(caller, {OTHER_OWNER_EMAIL: Role.OWNER})
    await top_up(caller, services["accounts"], partner.id)
    return InsightsWorld(gateway, caller, services, partner, other)


PRIVACY_OFFICER = Actor(kind="user", id="usr_dpo", role=Role.PRIVACY_OFFICER)
"""Who publishes policy versions in these tests."""
