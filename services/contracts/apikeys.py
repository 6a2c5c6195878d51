"""API-key contracts: create, list, revoke and rotate a partner's keys; revocations as events.

The full key crosses the wire once, in the reply to its creation (or rotation); afterwards
only its public parts (id, prefix) are ever shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from contracts.accounts import Actor, Scope
from contracts.base import Event, Query, Reply, WireSecret

KeyMode = Literal["live", "test"]

KeyName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
"""A key's label: 1-100 printable characters, surrounding spaces removed."""

KeyScopes = Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]


class ApiKeyView(Reply):
    """An API key as listings show it: never the secret, only what identifies the key."""

    TYPE: ClassVar[str] = "accounts.api_key.v1"

    id: str = Field(description="The key id: public, part of the key itself.")
    name: str
    prefix: str = Field(
        description="The key's first characters, to recognise it.", examples=["esk_live_4fQx2b"]
    )
    mode: KeyMode
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="When the key last authenticated a request (to the minute)."
    )
    expires_at: datetime | None = Field(
        default=None, description="Set when the key was rotated: it stops working then."
    )
    revoked_at: datetime | None = None


class NewApiKey(Reply):
    """A key just created: the full key, shown this once and never again."""

    TYPE: ClassVar[str] = "accounts.new_api_key.v1"

    api_key: WireSecret = Field(description="The full key. Store it now: it cannot be shown again.")
    key: ApiKeyView
    replaces: ApiKeyView | None = Field(
        default=None, description="After a rotation: the old key, with its `expires_at`."
    )


class ApiKeyPage(Reply):
    """A page of a partner's working keys (not revoked, not expired), newest first."""

    TYPE: ClassVar[str] = "accounts.api_key_page.v1"

    data: list[ApiKeyView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last."
    )


class _KeyQuery(Query):
    actor: Actor = Field(description="Who asks; a partner's actor acts for its own partner only.")
    partner_id: str = Field(max_length=64, description="The partner whose keys these are.")


class CreateApiKey(_KeyQuery):
    """Create a key; its scopes may not exceed the actor's own (a key never has more)."""

    TYPE: ClassVar[str] = "accounts.create_api_key.v1"

    name: KeyName
    scopes: KeyScopes
    mode: KeyMode


class ListApiKeys(_KeyQuery):
    """List a partner's working keys, newest first, one page at a time."""

    TYPE: ClassVar[str] = "accounts.list_api_keys.v1"

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


class RevokeApiKey(_KeyQuery):
    """Revoke a key at once. Revoking a revoked key changes nothing and answers the same."""

    TYPE: ClassVar[str] = "accounts.revoke_api_key.v1"

    key_id: str = Field(max_length=64)


class RotateApiKey(_KeyQuery):
    """Replace a key by a new one with the same name, mode and scopes; the old key keeps
    working until the overlap window (a setting of the accounts service) ends."""

    TYPE: ClassVar[str] = "accounts.rotate_api_key.v1"

    key_id: str = Field(max_length=64)


class ApiKeyRevoked(Event):
    """A key stops working at `effective_at`: now for a revocation, the end of the overlap
    window for a rotation. Every gateway replica drops it from its cache by then."""

    TYPE: ClassVar[str] = "accounts.api_key_revoked.v1"

    key_id: str
    partner_id: str
    effective_at: datetime
    reason: Literal["revoked", "rotated"]
