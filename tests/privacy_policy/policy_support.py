"""Helpers of the policy tests: the running services, partners with people, the SMTP sink."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import TestServer
from pymongo.asynchronous.database import AsyncDatabase

from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import CreateApiKey, NewApiKey
from contracts.base import Contract, Query, Reply
from contracts.dashboard import CreateUser, UserView
from contracts.identity import (
    AddContact,
    ClosePartner,
    ContactRole,
    ContactView,
    CreatePartner,
    PartnerView,
    PostalAddress,
)
from contracts.policy import PublishPolicy
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id
from servicekit.inbox import INBOX_COLLECTION
from servicekit.messages import MessageContext
from servicekit.service import Service

R = TypeVar("R", bound=Reply)

OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
OFFICER = Actor(kind="user", id="usr_dpo", role=Role.PRIVACY_OFFICER)
PASSWORD = "a long enough password 42"
NEW_TEXT = "Privacy Policy\n\nLast updated: November 2026\n\nWe now use a new processor.\n"
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def context() -> MessageContext:
    """The context of a message handled once, as the consumer would pass it."""
    return MessageContext(
        message_id=new_id("msg"),
        correlation_id=new_id("cor"),
        type="test",
        producer="tester",
        attempt=1,
        final_attempt=False,
    )


def publication(days_ahead: float, *, material: bool = True, **overrides: Any) -> PublishPolicy:
    """A publication as the privacy officer, taking effect `days_ahead` after START."""
    values: dict[str, Any] = {
        "actor": OFFICER,
        "text": NEW_TEXT,
        "effective_at": START + timedelta(days=days_ahead),
        "material": material,
        "summary": "New payment processor",
        **overrides,
    }
    return PublishPolicy.model_validate(values)


@dataclass
class Sink:
    """The dev stack's SMTP sink, read over its HTTP side."""

    url: str
    smtp_port: int

    async def messages(self) -> list[dict[str, Any]]:
        """Every message it received, oldest first."""
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/messages") as got:
            assert got.status == 200
            body: list[dict[str, Any]] = await got.json()
        return body


@dataclass
class PolicyWorld:
    """Accounts, privacy and the gateway running in one namespace, and a caller on the bus."""

    caller: Service
    accounts: Service
    privacy: TestServer
    privacy_db: AsyncDatabase[dict[str, Any]]
    gateway: TestServer
    sink: Sink

    async def ask(self, query: Query, reply: type[R], to: str) -> R:
        """A request/reply call to a service."""
        return await self.caller.bus.request(query, to=to, reply=reply, timeout=10)

    async def refusal(self, query: Query, to: str) -> RemoteCallError:
        """The error a service answers a query with (fails if it answers otherwise)."""
        try:
            await self.caller.bus.request(query, to=to, reply=Reply, timeout=10)
        except RemoteCallError as error:
            return error
        raise AssertionError(f"{query.TYPE} was not refused")

    async def publish(self, event: Contract) -> str:
        """Publish an event on the bus as the caller; its message id."""
        outgoing = self.caller.bus.outgoing(event)
        await self.caller.bus.publish_many([outgoing])
        return outgoing.message_id

    async def privacy_handled(self, message_id: str) -> bool:
        """Whether privacy has handled (and recorded in its inbox) this message."""
        return await self.privacy_db[INBOX_COLLECTION].find_one({"_id": message_id}) is not None

    async def accounts_handled(self, message_id: str) -> bool:
        """Whether accounts has handled (and recorded in its inbox) this message."""
        return await self.accounts.db[INBOX_COLLECTION].find_one({"_id": message_id}) is not None

    async def partner(self, name: str, *, closed: bool = False) -> tuple[str, list[str]]:
        """A partner with an owner user and two contacts; its id and the people's addresses."""
        partner = await self.ask(
            CreatePartner(
                actor=OPS,
                business_name=f"{name} Travel Ltd",
                registration_number="HRB 1",
                address=PostalAddress(
                    line1="Main St 1", city="Berlin", postal_code="10115", country="DE"
                ),
                phone="+4930123456",
            ),
            PartnerView,
            "accounts",
        )
        owner = f"owner.{name}@example.com"
        await self.ask(
            CreateUser.model_validate(
                {
                    "actor": OPS,
                    "partner_id": partner.id,
                    "name": f"{name} Owner",
                    "email": owner,
                    "role": Role.OWNER,
                    "password": PASSWORD,
                }
            ),
            UserView,
            "accounts",
        )
        contacts = [f"legal.{name}@example.com", f"privacy.{name}@example.com"]
        for email, role in zip(contacts, [ContactRole.LEGAL, ContactRole.PRIVACY], strict=True):
            add = AddContact(
                actor=OPS, partner_id=partner.id, name=f"{name} {role}", email=email, role=role
            )
            await self.ask(add, ContactView, "accounts")
        if closed:
            await self.ask(ClosePartner(actor=OPS, partner_id=partner.id), PartnerView, "accounts")
        return partner.id, [owner, *contacts]

    async def api_key(self, partner_id: str) -> str:
        """A test-mode API key of the partner with a scope unrelated to the policy."""
        created = await self.ask(
            CreateApiKey(
                actor=OPS,
                partner_id=partner_id,
                name="policy tests",
                scopes=[Scope.USAGE_READ],
                mode="test",
            ),
            NewApiKey,
            "accounts",
        )
        return created.api_key.get_secret_value()
