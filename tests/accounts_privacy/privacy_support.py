"""Helpers of the accounts privacy tests: the whole accounts service and a stand-in privacy
service that sends privacy commands and collects their results."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

from privacy_samples import Business, Person, task
from pymongo.asynchronous.database import AsyncDatabase

from accounts.app import create_service
from accounts.settings import AccountsSettings
from contracts import Event, Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import CreateApiKey, NewApiKey
from contracts.billing import BillingProfileView, SetBillingProfile
from contracts.dashboard import CreateUser, Login, LoginResult, UserView
from contracts.identity import (
    AddContact,
    ClosePartner,
    ContactRole,
    ContactView,
    CreatePartner,
    PartnerView,
    PostalAddress,
)
from contracts.ledger import CreditBalance, CreditKind, DebitBalance
from contracts.money import Money
from contracts.privacy import (
    EraseSubject,
    ExportSubject,
    InventoryAnnounced,
    LocateSubject,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from contracts.retention import RetentionSwept
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.waiting import eventually

R = TypeVar("R", bound=Reply)
Doc = dict[str, Any]

OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
PLATFORM = Actor(kind="platform", id="provisioning")
PASSWORD = "correct horse battery staple"
SubjectCommand = LocateSubject | ExportSubject | EraseSubject | RestrictSubject | RectifySubject


def accounts_settings(base: ServiceSettings, **overrides: Any) -> AccountsSettings:
    """Accounts settings for a test namespace, with fresh keys; no sweep unless asked."""
    values = {
        **base.model_dump(),
        "api_key_pepper": "test-pepper-for-privacy-0123456789",
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "retention_sweep_first_delay_seconds": 3600,
        **overrides,
    }
    return AccountsSettings.model_validate(values)


@dataclass
class PrivacyHarness:
    """The accounts service as `create_service` builds it, and a stand-in privacy service."""

    service: Service
    caller: Service
    settings: AccountsSettings
    vault: Vault
    results: dict[str, PrivacyTaskCompleted] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The accounts database, read raw as an auditor would."""
        return self.service.db

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask accounts over request/reply."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    async def run(self, command: SubjectCommand) -> PrivacyTaskCompleted:
        """Send a privacy command as the privacy service does; its result."""
        await self.caller.bus.publish(command, to="accounts")

        async def answered() -> PrivacyTaskCompleted | None:
            return self.results.get(command.task_id)

        result = await eventually(answered, what=f"the result of {command.TYPE}")
        assert result is not None
        return result

    async def erase(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Erase the subject through the privacy fan-out."""
        return await self.run(EraseSubject(**task(), subject=subject))

    async def export(self, subject: SubjectRef) -> PrivacyTaskCompleted:
        """Export the subject through the privacy fan-out."""
        return await self.run(ExportSubject(**task(), subject=subject))

    async def partner(self, business: Business) -> PartnerView:
        """A new partner with the business's identity."""
        address = PostalAddress(line1=business.street, city="Potsdam", country="DE")
        request = CreatePartner(
            actor=OPS,
            business_name=business.name,
            registration_number="HRB 7777",
            tax_id=business.tax_id,
            address=address,
            phone=business.phone,
        )
        return await self.ask(request, PartnerView)

    async def close(self, partner_id: str) -> PartnerView:
        """Close the partner's account."""
        return await self.ask(ClosePartner(actor=OPS, partner_id=partner_id), PartnerView)

    async def contact(self, partner_id: str, person: Person) -> ContactView:
        """Add the person as a contact of the partner."""
        request = AddContact(
            actor=OPS,
            partner_id=partner_id,
            name=person.name,
            email=person.email,
            phone=person.phone,
            role=ContactRole.BILLING,
        )
        return await self.ask(request, ContactView)

    async def user(self, partner_id: str, person: Person) -> UserView:
        """Make the person a dashboard admin of the partner."""
        request = CreateUser(
            actor=OPS,
            partner_id=partner_id,
            name=person.name,
            email=person.email,
            role=Role.ADMIN,
            password=PASSWORD,
        )
        return await self.ask(request, UserView)

    async def login(self, person: Person, password: str = PASSWORD) -> LoginResult:
        """Sign in as the person, from their address and browser."""
        request = Login(
            email=person.email, password=password, ip=person.ip, user_agent=person.user_agent
        )
        return await self.ask(request, LoginResult)

    async def billing(self, partner_id: str) -> BillingProfileView:
        """Give the partner a billing profile."""
        request = SetBillingProfile(
            actor=OPS,
            partner_id=partner_id,
            processor="stripe",
            customer_token=f"cus_{secrets.token_hex(6)}",
            card_brand="visa",
            last4="4242",
        )
        return await self.ask(request, BillingProfileView)

    async def api_key(self, partner_id: str, name: str) -> NewApiKey:
        """A new API key of the partner."""
        request = CreateApiKey(
            actor=OPS, partner_id=partner_id, name=name, scopes=[Scope.ORDERS_READ], mode="test"
        )
        return await self.ask(request, NewApiKey)

    async def ledger(self, partner_id: str) -> None:
        """A top-up and an order's debit on the partner's balance, both applied."""
        top_up = CreditBalance(
            actor=PLATFORM,
            partner_id=partner_id,
            kind=CreditKind.TOP_UP,
            reference=f"pi_{secrets.token_hex(4)}",
            amount=Money(amount=5_000, currency="EUR"),
        )
        await self.caller.bus.publish(top_up, to="accounts")
        await self._applied(partner_id, 1)
        debit = DebitBalance(
            actor=PLATFORM,
            partner_id=partner_id,
            order_id=new_id("ord"),
            amount=Money(amount=1_200, currency="EUR"),
        )
        await self.caller.bus.publish(debit, to="accounts")
        await self._applied(partner_id, 2)

    async def _applied(self, partner_id: str, count: int) -> None:
        async def applied() -> bool:
            query = {"partner_id": partner_id, "status": "applied"}
            return await self.db["ledger"].count_documents(query) >= count

        await eventually(applied, what=f"{count} ledger entries applied")

    async def outboxes_drained(self) -> None:
        """Wait until every message accounts wrote to an outbox is published."""

        async def drained() -> bool:
            return await self.service.outbox.backlog() == 0

        await eventually(drained, what="the outboxes drained")

    async def everything(self) -> list[tuple[str, Doc]]:
        """Every document of every collection of the accounts database."""
        found = []
        for name in sorted(await self.db.list_collection_names()):
            found += [(name, document) async for document in self.db[name].find({})]
        return found

    async def counts(self) -> dict[str, int]:
        """How many documents each collection of accounts holds."""
        names = await self.db.list_collection_names()
        return {name: await self.db[name].count_documents({}) for name in sorted(names)}


def build_harness(base: ServiceSettings, **overrides: Any) -> PrivacyHarness:
    """The harness over a namespace, not yet running."""
    settings = accounts_settings(base, **overrides)
    accounts = create_service(settings)
    caller = Service.create("privacy", base, stateless=True)
    harness = PrivacyHarness(
        service=accounts,
        caller=caller,
        settings=settings,
        vault=Vault.from_settings(accounts.db, settings),
    )

    async def on_result(result: PrivacyTaskCompleted, _context: MessageContext) -> None:
        harness.results[result.task_id] = result

    async def on_event(event: Any, _context: MessageContext) -> None:
        harness.events.append(event)

    caller.router.on(PrivacyTaskCompleted, on_result)
    caller.router.on(InventoryAnnounced, on_event)
    caller.router.on(RetentionSwept, on_event)
    return harness
