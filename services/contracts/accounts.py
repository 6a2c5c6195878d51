"""Accounts contracts: API-key verification for the gateway."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import Query, Reply, WireSecret


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
