"""Dashboard users: sealed name and email (subject: the user id), role, password hash.

The email's blind index is unique: it is how a user signs in, and it settles racing
creations. Platform users (ops, privacy officer, support) have no partner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.people import LIST_LIMIT, People, not_found
from accounts.store import Db
from contracts.dashboard import CreateUser, UserView
from servicekit.errors import ServiceError
from servicekit.vault import Vault

USER_SEALED = ("name", "email")


@dataclass(frozen=True)
class NewUser:
    """What a new dashboard user is made of (besides the password)."""

    partner_id: str | None
    name: str
    email: str
    role: str


@dataclass
class Users:
    """Creates, reads and lists dashboard users."""

    db: Db
    vault: Vault
    people: People = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.db, self.vault)

    async def create_user(
        self, request: CreateUser, *, user_id: str, password_hash: str, now: datetime
    ) -> UserView:
        """Create a dashboard user; conflict if a user already has this email address."""
        if request.partner_id is not None:
            await self.people.open_partner(request.partner_id)
        await self.people.refuse_restricted(partner_id=request.partner_id, email=request.email)
        fields = NewUser(request.partner_id, request.name, str(request.email), request.role.value)
        document = await self.insert_user(
            user_id, fields, password_hash=password_hash, by=request.actor.id, now=now
        )
        return await self.user_view(document)

    async def insert_user(
        self, user_id: str, user: NewUser, *, password_hash: str | None, by: str, now: datetime
    ) -> dict[str, Any]:
        """Store a new user (without a password hash, it cannot sign in); the stored document.

        The unique blind index of the email settles racing creations: one insert wins, the
        others get conflict. The same user id again finds the user it made.
        """
        plain = {"name": user.name, "email": user.email}
        sealed = await self.vault.seal(user_id, user_id, plain, indexed={"email": "email"})
        document: dict[str, Any] = {
            "_id": user_id,
            "role": user.role,
            "status": "active",
            **sealed,
            "created_at": now,
            "created_by": by,
        }
        if user.partner_id is not None:
            document["partner_id"] = user.partner_id
        if password_hash is not None:
            document["password"] = {"hash": password_hash, "at": now}
        try:
            await self.db[store.USERS].insert_one(document)
        except DuplicateKeyError:
            existing = await self.db[store.USERS].find_one({"_id": user_id})
            if existing is None:  # another user holds the email: drop the key made for this one
                await self.vault.shred(user_id)
                raise ServiceError("conflict", "a user with this email address exists") from None
            return existing
        return document

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> bool:
        """Replace a user's password hash; whether the user exists."""
        result = await self.db[store.USERS].update_one(
            {"_id": user_id}, {"$set": {"password": {"hash": password_hash, "at": now}}}
        )
        return result.matched_count > 0

    async def user_document(self, user_id: str) -> dict[str, Any]:
        """The stored user; not_found otherwise."""
        document = await self.db[store.USERS].find_one({"_id": user_id})
        if document is None:
            raise not_found("user")
        return document

    async def user_view(self, document: Mapping[str, Any]) -> UserView:
        """A stored user, decrypted, without the password."""
        opened = await self.vault.open(document["_id"], document, USER_SEALED)
        return UserView(
            id=document["_id"],
            partner_id=document.get("partner_id"),
            role=document["role"],
            status=document["status"],
            created_at=document["created_at"],
            **opened,
            **await self.people.person_flags(document, user=True),
        )

    async def list_users(self, partner_id: str | None) -> list[UserView]:
        """A partner's users, or the platform's (partner None), oldest first."""
        criteria = {"partner_id": partner_id if partner_id else {"$exists": False}}
        cursor = self.db[store.USERS].find(criteria).sort("_id", 1).limit(LIST_LIMIT)
        return [await self.user_view(document) async for document in cursor]
