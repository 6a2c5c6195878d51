"""Accounts contracts: who acts (actors, roles, scopes) and API-key verification."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import Contract, Query, Reply, WireSecret


class Scope(StrEnum):
    """What an API key may do."""

    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    ESIMS_READ = "esims:read"
    BILLING_READ = "billing:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    PRIVACY_READ = "privacy:read"
    PRIVACY_WRITE = "privacy:write"
    USAGE_READ = "usage:read"
    KEYS_MANAGE = "keys:manage"
    ACCOUNT_READ = "account:read"
    ACCOUNT_WRITE = "account:write"


class Role(StrEnum):
    """Roles of people: a partner's own (owner ... viewer) and the platform's (ops ...)."""

    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    BILLING = "billing"
    VIEWER = "viewer"
    OPS = "ops"
    PRIVACY_OFFICER = "privacy_officer"
    SUPPORT = "support"


PARTNER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.BILLING, Role.VIEWER})
PLATFORM_ROLES = frozenset({Role.OPS, Role.PRIVACY_OFFICER, Role.SUPPORT})

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.OWNER: frozenset(Scope),
    Role.ADMIN: frozenset(Scope),
    Role.DEVELOPER: frozenset(Scope) - {Scope.BILLING_READ, Scope.ACCOUNT_WRITE},
    Role.BILLING: frozenset({Scope.BILLING_READ, Scope.ACCOUNT_READ}),
    Role.VIEWER: frozenset(),
}
"""What a user of each partner role may do where scopes decide: the scopes it may put on an
API key it creates, and what the services that check scopes let it do itself."""


class Actor(Contract):
    """Who asks for a command or query: a dashboard user, an API key, or the platform itself.

    A partner's user or key acts only for its own partner; platform users and the platform
    (internal jobs, other services) have no partner.
    """

    kind: Literal["user", "api_key", "platform"]
    id: str = Field(max_length=64)
    partner_id: str | None = Field(default=None, max_length=64)
    role: Role | None = Field(default=None, description="A user's role.")
    scopes: list[Scope] = Field(default_factory=list, description="An API key's scopes.")
    mode: Literal["live", "test"] | None = Field(
        default=None,
        description="An API key's mode: a test key acts on test orders and eSIMs only, a live"
        " key on live ones (decision 0019). Users and the platform have none.",
    )


class VerifyApiKey(Query):
    """Check a presented API key; the reply is the principal it authenticates."""

    TYPE: ClassVar[str] = "accounts.verify_api_key.v1"

    api_key: WireSecret = Field(description="The full key as presented; never logged.")


class Principal(Reply):
    """Who is calling: the partner, the key and what it may do."""

    TYPE: ClassVar[str] = "accounts.principal.v1"

    partner_id: str
    key_id: str
    scopes: list[Scope]
    mode: Literal["live", "test"]


def scopes_of(actor: Actor) -> frozenset[Scope]:
    """The scopes a partner's actor holds: an API key's own, or its user's role's. Platform
    actors hold none here: services judge them as the platform."""
    if actor.kind == "api_key":
        return frozenset(actor.scopes)
    if actor.kind == "user" and actor.role in PARTNER_ROLES:
        return ROLE_SCOPES[actor.role]
    return frozenset()
