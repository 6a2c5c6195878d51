"""The accounts service as a data owner under test (with a stand-in privacy service), and
sample people and businesses with values distinctive enough to scan its raw database for."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from accounts.app import create_service
from accounts.settings import AccountsSettings
from contracts import Query, Reply
from contracts.accounts import Actor, Role
from contracts.dashboard import CreateUser, Login, LoginResult, UserView
from contracts.identity import (
    AddContact,
    ContactRole,
    ContactView,
    CreatePartner,
    PartnerView,
    PostalAddress,
)
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.privacy_standin import OwnerUnderTest, stand_in

R = TypeVar("R", bound=Reply)
OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Person:
    """A person with values no other test uses, so the raw store can be searched for them."""

    name: str
    email: str
    phone: str
    ip: str
    user_agent: str

    @classmethod
    def sample(cls, first: str = "Zelda") -> Person:
        """A new person; every value carries a random tag."""
        tag = secrets.token_hex(3)
        digits = str(int(tag, 16) % 10**6).zfill(6)
        return cls(
            name=f"{first} Quillfeather {tag}",
            email=f"{first.lower()}.{tag}@quill.example.org",
            phone=f"+49157{digits}11",
            ip=f"198.51.100.{int(tag[:2], 16) % 250 + 2}",
            user_agent=f"QuillBrowser/{tag}",
        )

    def values(self) -> list[str]:
        """What must not be found in plaintext once the person is erased."""
        return [self.name, self.email, self.phone, self.phone.lstrip("+"), self.user_agent]


@dataclass(frozen=True)
class Business:
    """A partner's identity with values no other test uses."""

    name: str
    tax_id: str
    street: str
    phone: str

    @classmethod
    def sample(cls) -> Business:
        """A new business; every value carries a random tag."""
        tag = secrets.token_hex(3)
        digits = str(int(tag, 16) % 10**6).zfill(6)
        return cls(
            name=f"Quasar Roaming {tag} GmbH",
            tax_id=f"DE9{digits}17",
            street=f"Nebelweg {tag}",
            phone=f"+49301{digits}9",
        )


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
class AccountsOwner(OwnerUnderTest):
    """Accounts and the stand-in privacy service; ops' calls that create sample records."""

    @classmethod
    def build(cls, base: ServiceSettings, **overrides: Any) -> AccountsOwner:
        """Accounts over a namespace (settings overridden as given) and the stand-in privacy
        service, not yet running."""
        settings = accounts_settings(base, **overrides)
        service = create_service(settings)
        vault = Vault.from_settings(service.db, settings)
        return cls(service=service, caller=stand_in(base), vault=vault)

    async def ask(self, query: Query, reply: type[R]) -> R:
        """Ask accounts over request/reply."""
        return await self.caller.bus.request(query, to="accounts", reply=reply, timeout=15)

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
