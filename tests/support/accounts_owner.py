"""The accounts service as a data owner under test (with a stand-in privacy service that also
hears its inventory), and sample people and businesses with values distinctive enough to scan
its raw database for."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

from accounts.app import create_service
from accounts.settings import AccountsSettings
from contracts import Query, Reply
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
from contracts.privacy import InventoryAnnounced
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from servicekit.settings import ServiceSettings
from servicekit.vault import Vault
from support.privacy_standin import OwnerUnderTest, stand_in
from support.waiting import eventually

R = TypeVar("R", bound=Reply)
OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)
PLATFORM = Actor(kind="platform", id="provisioning")
PASSWORD = "correct horse battery staple"


def _random_tag() -> tuple[str, str]:
    """A random hex tag, and six digits derived from it (for phone numbers and tax ids)."""
    tag = secrets.token_hex(3)
    return tag, str(int(tag, 16) % 10**6).zfill(6)


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
        tag, digits = _random_tag()
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
        tag, digits = _random_tag()
        return cls(
            name=f"Quasar Roaming {tag} GmbH",
            tax_id=f"DE9{digits}17",
            street=f"Nebelweg {tag}",
            phone=f"+49301{digits}9",
        )

    def values(self) -> list[str]:
        """What must not be found in plaintext once the partner is erased."""
        return [self.name, self.tax_id, self.street, self.phone, self.phone.lstrip("+")]


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
    """Accounts (with its settings) and the stand-in privacy service, which also hears the
    inventory accounts announces; ops' and the platform's calls that create sample records."""

    settings: AccountsSettings = field(kw_only=True)

    def __post_init__(self) -> None:
        """Subscribe the (not yet started) caller to results, retention reports and the
        inventory."""
        super().__post_init__()

        async def on_inventory(event: InventoryAnnounced, _context: MessageContext) -> None:
            self.events.append(event)

        self.caller.router.on(InventoryAnnounced, on_inventory)

    @classmethod
    def build(
        cls, base: ServiceSettings, *, announces_restrictions: bool = True, **overrides: Any
    ) -> AccountsOwner:
        """Accounts over a namespace (settings overridden as given) and the stand-in privacy
        service, not yet running; `announces_restrictions` as `OwnerUnderTest` says."""
        settings = accounts_settings(base, **overrides)
        service = create_service(settings)
        return cls(
            service=service,
            caller=stand_in(base),
            vault=Vault.from_settings(service.db, settings),
            settings=settings,
            announces_restrictions=announces_restrictions,
        )

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

    async def close(self, partner_id: str) -> PartnerView:
        """Close the partner's account."""
        return await self.ask(ClosePartner(actor=OPS, partner_id=partner_id), PartnerView)

    async def contact(self, partner_id: str, person: Person) -> ContactView:
        """Add the person as a contact of the partner."""
        request = AddContact(
            **_by_ops(partner_id, person), phone=person.phone, role=ContactRole.BILLING
        )
        return await self.ask(request, ContactView)

    async def user(self, partner_id: str, person: Person) -> UserView:
        """Make the person a dashboard admin of the partner."""
        request = CreateUser(**_by_ops(partner_id, person), role=Role.ADMIN, password=PASSWORD)
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

    async def counts(self) -> dict[str, int]:
        """How many documents each collection of accounts holds."""
        names = await self.db.list_collection_names()
        return {name: await self.db[name].count_documents({}) for name in sorted(names)}


def _by_ops(partner_id: str, person: Person) -> dict[str, Any]:
    """What ops gives to add the person to the partner (as a contact or a user)."""
    return {"actor": OPS, "partner_id": partner_id, "name": person.name, "email": person.email}
