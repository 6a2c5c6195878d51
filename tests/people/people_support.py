"""Helpers of the people tests: actors, sample requests, a clock the tests move, a harness that
asks accounts over the bus (and hears partner events), and the domain objects on their own
database for tests that drive time directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from argon2 import PasswordHasher
from pydantic import ConfigDict
from pymongo.asynchronous.database import AsyncDatabase

from accounts.auth import Auth, LoginPolicy, Passwords
from accounts.partners import Partners
from accounts.people import People
from accounts.settings import AccountsSettings
from accounts.users import NewUser, Users
from contracts import Event, Query, Reply
from contracts.accounts import Actor, Role
from contracts.dashboard import CreateUser, Login, LoginResult, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault

R = TypeVar("R", bound=Reply)
Doc = dict[str, Any]

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
PASSWORD = "correct horse battery staple"
IP = "203.0.113.7"
USER_AGENT = "Mozilla/5.0 (people tests)"

BUSINESS_NAME = "Nimbus Roaming GmbH"
TAX_ID = "DE813579246"
PARTNER_PHONE = "+4930555012345"
STREET = "Friedrichstrasse 123"
CITY = "Potsdam"
POSTCODE = "14467"
PERSONAL_VALUES = [TAX_ID, PARTNER_PHONE, "555012345", STREET, CITY, POSTCODE]
"""Personal values of the sample partner that must never be stored in plaintext."""


def cheap_passwords() -> Passwords:
    """argon2id with small parameters, so tests that check many passwords stay quick."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def member(partner_id: str, role: Role, user_id: str | None = None) -> Actor:
    """A dashboard user of a partner, as the gateway would present them."""
    return Actor(kind="user", id=user_id or new_id("usr"), partner_id=partner_id, role=role)


def accounts_settings(base: ServiceSettings, **overrides: Any) -> AccountsSettings:
    """Accounts settings for a test namespace, with fresh keys."""
    values = {
        **base.model_dump(),
        "api_key_pepper": "test-pepper-for-people-0123456789",
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        **overrides,
    }
    return AccountsSettings.model_validate(values)


def partner_request(actor: Actor = OPS, **overrides: Any) -> CreatePartner:
    """A partner with every personal field set to the sample values."""
    values: dict[str, Any] = {
        "actor": actor,
        "business_name": BUSINESS_NAME,
        "registration_number": "HRB 424242",
        "tax_id": TAX_ID,
        "address": PostalAddress(line1=STREET, city=CITY, postal_code=POSTCODE, country="DE"),
        "phone": PARTNER_PHONE,
        **overrides,
    }
    return CreatePartner.model_validate(values)


def raw_request(valid: Query, **overrides: Any) -> Query:
    """`valid` with some fields replaced by raw JSON values: checked only by the service."""

    class RawRequest(Query):
        """A request body sent as is."""

        model_config = ConfigDict(extra="allow", frozen=True)
        TYPE: ClassVar[str] = valid.TYPE

    body = {**valid.model_dump(mode="json"), **overrides}
    return RawRequest(**{name: value for name, value in body.items() if value is not ...})


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


@dataclass
class PeopleHarness:
    """The people part of accounts, running on a fake clock, and a caller on the bus."""

    service: Service
    caller: Service
    clock: FakeClock
    vault: Vault
    events: list[Event] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        """The accounts database, read raw as an auditor would."""
        return self.service.db

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Send a query to accounts and return its reply (RemoteCallError on an error)."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    async def refusal(self, query: Query) -> RemoteCallError:
        """The error accounts answers `query` with (fails the test if it answers normally)."""
        with pytest.raises(RemoteCallError) as caught:
            await self.ask(query, Reply)
        return caught.value

    async def partner(self, **overrides: Any) -> PartnerView:
        """A new partner, created by ops."""
        return await self.ask(partner_request(**overrides), PartnerView)

    async def user(
        self, partner_id: str, role: Role, *, email: str | None = None, name: str = "Uma User"
    ) -> UserView:
        """A new dashboard user of a partner, created by ops, with PASSWORD."""
        request = CreateUser(
            actor=OPS,
            partner_id=partner_id,
            name=name,
            email=email or f"{new_id('u')}@example.com",
            role=role,
            password=PASSWORD,
        )
        return await self.ask(request, UserView)

    async def login(self, email: str, password: str = PASSWORD, ip: str = IP) -> LoginResult:
        """Sign in over the bus."""
        request = Login(email=email, password=password, ip=ip, user_agent=USER_AGENT)
        return await self.ask(request, LoginResult)

    async def counts(self) -> dict[str, int]:
        """How many documents each collection of accounts holds."""
        names = await self.db.list_collection_names()
        return {name: await self.db[name].count_documents({}) for name in sorted(names)}


@dataclass
class Domain:
    """The domain objects on a database of one test, with small login limits."""

    db: AsyncDatabase[Doc]
    vault: Vault
    partners: Partners
    people: People
    users: Users
    auth: Auth

    async def user(self, partner_id: str | None, email: str, role: Role = Role.ADMIN) -> str:
        """Store a user with PASSWORD (cheaply hashed); its id."""
        user_id = new_id("usr")
        password_hash = await self.auth.passwords.hash(PASSWORD)
        await self.users.insert_user(
            user_id,
            NewUser(partner_id, "Dee Domain", email, role.value),
            password_hash=password_hash,
            by=OPS.id,
            now=T0,
        )
        return user_id

    async def login(
        self, email: str, now: datetime, password: str = PASSWORD, ip: str = IP
    ) -> LoginResult:
        """Sign in at `now`."""
        request = Login(email=email, password=password, ip=ip, user_agent=USER_AGENT)
        return await self.auth.login(request, now)


LIMITS = LoginPolicy(
    max_failures=3,
    max_failures_per_ip=5,
    failure_window=timedelta(minutes=10),
    lockout=timedelta(minutes=15),
    session_ttl=timedelta(minutes=60),
)
"""Small limits for the domain tests: 3 failures per account, 5 per address."""
