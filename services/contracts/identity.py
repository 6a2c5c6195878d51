"""Identity contracts: partners and their contact people (users and login: `contracts.dashboard`).

Every request carries the `actor` who asks; the accounts service checks the permission each
one names. A partner's user or key only ever acts for its own partner: the gateway fills
`partner_id` from the actor, and accounts refuses any other. Views come back decrypted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, model_validator

from contracts.accounts import Actor
from contracts.base import Contract, Event, Query, Reply

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Email = Annotated[EmailStr, Field(max_length=254, examples=["ada@example.com"])]
Phone = Annotated[
    str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164.", examples=["+4915112345678"])
]
Id = Annotated[str, Field(min_length=1, max_length=64)]
SECRET_SAFE = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
"""Contracts that carry a secret never show their input in validation errors."""
C = TypeVar("C", bound=Contract)


def _some_change(request: C, keys: set[str]) -> C:
    if all(value is None for name, value in request if name not in keys):
        raise ValueError("name at least one field to change")
    return request


class PartnerStatus(StrEnum):
    """Where a partner's account stands."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class ContactRole(StrEnum):
    """A contact person's role in the partner's business."""

    OWNER = "owner"
    PRIMARY = "primary"
    BILLING = "billing"
    TECHNICAL = "technical"
    LEGAL = "legal"
    PRIVACY = "privacy"
    OTHER = "other"


class EmailPurpose(StrEnum):
    """Why we would email a person: only essential email reaches a restricted person."""

    ESSENTIAL = "essential"
    MARKETING = "marketing"
    UPDATES = "updates"


class PostalAddress(Contract):
    """A business address (stored encrypted)."""

    line1: Text = Field(examples=["Alexanderplatz 1"])
    line2: Text | None = None
    city: Text = Field(examples=["Berlin"])
    postal_code: ShortText | None = Field(default=None, examples=["10178"])
    region: Text | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.", examples=["DE"])


class CreatePartner(Query):
    """Create a partner (needs `partner:create`: ops). Replies with the partner's view."""

    TYPE: ClassVar[str] = "accounts.create_partner.v1"

    actor: Actor
    business_name: Text = Field(examples=["Demo Travel Ltd"])
    registration_number: ShortText = Field(examples=["HRB 123456"])
    tax_id: ShortText | None = Field(default=None, description="Where required.")
    address: PostalAddress
    phone: Phone
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217.")


class GetPartner(Query):
    """Read a partner (needs `partner:read` for that partner)."""

    TYPE: ClassVar[str] = "accounts.get_partner.v1"

    actor: Actor
    partner_id: Id


class UpdatePartner(Query):
    """Rectify a partner's details (needs `partner:update`); fields left out stay as they are.

    Which fields changed, when and by whom is recorded, never the values.
    """

    TYPE: ClassVar[str] = "accounts.update_partner.v1"

    actor: Actor
    partner_id: Id
    business_name: Text | None = None
    registration_number: ShortText | None = None
    tax_id: ShortText | None = None
    address: PostalAddress | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdatePartner:
        return _some_change(self, {"actor", "partner_id"})


class ClosePartner(Query):
    """Close a partner's account (needs `partner:close`): status closed, with the date."""

    TYPE: ClassVar[str] = "accounts.close_partner.v1"

    actor: Actor
    partner_id: Id


class PartnerView(Reply):
    """A partner, decrypted. Personal fields are None once erased."""

    TYPE: ClassVar[str] = "accounts.partner.v1"

    id: str
    business_name: str
    registration_number: str
    tax_id: str | None = None
    address: PostalAddress | None = None
    phone: str | None = None
    currency: str
    status: PartnerStatus
    created_at: datetime
    closed_on: date | None = Field(default=None, description="The date of closure.")


class AddContact(Query):
    """Add a contact person to a partner (needs `people:manage`)."""

    TYPE: ClassVar[str] = "accounts.add_contact.v1"

    actor: Actor
    partner_id: Id
    name: Text = Field(examples=["Ada Lovelace"])
    email: Email
    phone: Phone | None = None
    role: ContactRole


class ListContacts(Query):
    """A partner's contact people (needs `people:read`)."""

    TYPE: ClassVar[str] = "accounts.list_contacts.v1"

    actor: Actor
    partner_id: Id


class UpdateContact(Query):
    """Rectify a contact person (needs `people:manage`); fields left out stay as they are."""

    TYPE: ClassVar[str] = "accounts.update_contact.v1"

    actor: Actor
    partner_id: Id
    contact_id: Id
    name: Text | None = None
    email: Email | None = None
    phone: Phone | None = None
    role: ContactRole | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateContact:
        return _some_change(self, {"actor", "partner_id", "contact_id"})


class RemoveContact(Query):
    """Remove a contact person and shred their key (needs `people:manage`)."""

    TYPE: ClassVar[str] = "accounts.remove_contact.v1"

    actor: Actor
    partner_id: Id
    contact_id: Id


class ContactView(Reply):
    """A contact person, decrypted. `restricted`/`objection`: see `EmailPurpose`."""

    TYPE: ClassVar[str] = "accounts.contact.v1"

    id: str
    partner_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    role: ContactRole
    restricted: bool = False
    objection: bool = False
    created_at: datetime


class ContactList(Reply):
    """A partner's contact people, oldest first."""

    TYPE: ClassVar[str] = "accounts.contact_list.v1"

    data: list[ContactView]


class ContactRemoved(Reply):
    """The contact person is gone, and their encrypted fields unreadable everywhere."""

    TYPE: ClassVar[str] = "accounts.contact_removed.v1"

    contact_id: str


class PartnerCreated(Event):
    """A partner was created (no personal data)."""

    TYPE: ClassVar[str] = "accounts.partner_created.v1"

    partner_id: str
    currency: str
    created_at: datetime


class PartnerUpdated(Event):
    """A partner's details were rectified: the names of the fields, never the values."""

    TYPE: ClassVar[str] = "accounts.partner_updated.v1"

    partner_id: str
    fields: list[str]
    updated_at: datetime
    by: str = Field(description="The actor's id.")


class PartnerClosed(Event):
    """A partner's account was closed."""

    TYPE: ClassVar[str] = "accounts.partner_closed.v1"

    partner_id: str
    closed_on: date
    closed_at: datetime
