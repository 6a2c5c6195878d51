"""API keys: verification for the gateway; create, list, revoke and rotate for partners.

The full key exists only in the reply that creates it; the store keeps an HMAC of its
secret. Revocation and rotation publish `accounts.api_key_revoked.v1` through the outbox in
the same write, so every gateway replica drops the key (at once, or when the rotation's
overlap window ends).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from accounts import apikeys, keys_store, store
from accounts.keys_store import is_working, view_of
from accounts.permissions import Permission, grantable_scopes, require
from accounts.settings import AccountsSettings
from accounts.store import Db
from contracts import Contract
from contracts.accounts import Actor, Principal, Scope, VerifyApiKey
from contracts.apikeys import (
    ApiKeyPage,
    ApiKeyRevoked,
    ApiKeyView,
    CreateApiKey,
    KeyMode,
    ListApiKeys,
    NewApiKey,
    RevokeApiKey,
    RotateApiKey,
)
from servicekit.clock import Clock, utcnow
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext, Outgoing
from servicekit.outbox import add_outbox
from servicekit.service import Service

INVALID_KEY = ServiceError("invalid_api_key", "the API key is not valid")
NO_SUCH_KEY = ServiceError("not_found", "no such API key")


class ApiKeys:
    """The API-key handlers over the accounts store; time comes from `clock`."""

    def __init__(
        self,
        *,
        db: Db,
        settings: AccountsSettings,
        outgoing: Callable[[Contract], Outgoing],
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.keys = db[store.API_KEYS]
        self.pepper = settings.api_key_pepper.get_secret_value()
        self.overlap = timedelta(hours=settings.key_rotation_overlap_hours)
        self.last_used_every = timedelta(seconds=settings.last_used_resolution_seconds)
        self.outgoing = outgoing
        self.clock = clock

    def now(self) -> datetime:
        """The current time, to the millisecond the store keeps."""
        return keys_store.to_millis(self.clock())

    async def verify_api_key(self, query: VerifyApiKey, _context: MessageContext) -> Principal:
        """The principal of a working key; the same error for every other case."""
        parsed = apikeys.parse(query.api_key.get_secret_value())
        if parsed is None:
            raise INVALID_KEY
        record = await self.keys.find_one({"_id": parsed.key_id})
        now = self.now()
        if record is None or not is_working(record, now) or record["mode"] != parsed.mode:
            raise INVALID_KEY
        digest = apikeys.secret_digest(parsed.secret, self.pepper)
        if not hmac.compare_digest(digest, record["secret_hmac"]):
            raise INVALID_KEY
        if not await self._partner_active(record["partner_id"]):
            raise INVALID_KEY
        await keys_store.record_use(self.keys, record, now, self.last_used_every)
        return Principal(
            partner_id=record["partner_id"],
            key_id=record["_id"],
            scopes=[Scope(scope) for scope in record["scopes"]],
            mode=parsed.mode,
        )

    async def _partner_active(self, partner_id: str) -> bool:
        """Keys of a suspended or closed partner stop working (its data may still be kept)."""
        partner = await self.db[store.PARTNERS].find_one({"_id": partner_id}, {"status": 1})
        return partner is not None and partner.get("status") == "active"

    async def create_api_key(self, query: CreateApiKey, context: MessageContext) -> NewApiKey:
        """A new key for the partner, shown once; never with more scopes than its creator."""
        require(query.actor, Permission.KEYS_MANAGE, query.partner_id)
        scopes = sorted(set(query.scopes), key=list(Scope).index)
        await self._check_grant(query.actor, scopes, query.mode)
        if not await self._partner_active(query.partner_id):
            raise ServiceError("not_found", "no such partner")
        now = self.now()
        await keys_store.claim_request(self.db, _request_id(context), "create", now)
        key, document = self._new_key(
            query.actor, query.partner_id, query.name, scopes, query.mode, now
        )
        await self.keys.insert_one(document)
        return NewApiKey(api_key=key, key=view_of(document))

    async def list_api_keys(self, query: ListApiKeys, _context: MessageContext) -> ApiKeyPage:
        """The partner's working keys, newest first."""
        require(query.actor, Permission.KEYS_READ, query.partner_id)
        documents, cursor = await keys_store.page(
            self.keys, query.partner_id, query.cursor, query.limit, self.now()
        )
        return ApiKeyPage(data=[view_of(document) for document in documents], next_cursor=cursor)

    async def revoke_api_key(self, query: RevokeApiKey, _context: MessageContext) -> ApiKeyView:
        """Revoke the key now; a key revoked before stays as it was (no second event)."""
        require(query.actor, Permission.KEYS_MANAGE, query.partner_id)
        record = await self._own_key(query.partner_id, query.key_id)
        if "revocation" in record:
            return view_of(record)
        now = self.now()
        revoked = ApiKeyRevoked(
            key_id=record["_id"], partner_id=query.partner_id, effective_at=now, reason="revoked"
        )
        change = {"$set": {"revocation": _by(query.actor, now)}}
        updated = await self._change_once(record["_id"], {}, change, revoked)
        if updated is None:  # revoked meanwhile by another request
            return view_of(await self._own_key(query.partner_id, query.key_id))
        return view_of(updated)

    async def rotate_api_key(self, query: RotateApiKey, context: MessageContext) -> NewApiKey:
        """A new key like the old one; the old one works until the overlap window ends."""
        require(query.actor, Permission.KEYS_MANAGE, query.partner_id)
        old = await self._own_key(query.partner_id, query.key_id)
        now = self.now()
        if not is_working(old, now):
            raise ServiceError("conflict", "the key is revoked or expired; create a new one")
        if "expiry" in old:
            raise ServiceError("conflict", "the key was already rotated; rotate its replacement")
        scopes = [Scope(scope) for scope in old["scopes"]]
        await self._check_grant(query.actor, scopes, old["mode"])
        await keys_store.claim_request(self.db, _request_id(context), "rotate", now)
        name = old.get("name") or old["prefix"]
        key, document = self._new_key(
            query.actor, query.partner_id, name, scopes, old["mode"], now, rotated_from=old["_id"]
        )
        await self.keys.insert_one(document)
        ends = now + self.overlap
        rotated = ApiKeyRevoked(
            key_id=old["_id"], partner_id=query.partner_id, effective_at=ends, reason="rotated"
        )
        expiry = {"at": ends, "replaced_by": document["_id"], "by": query.actor.id}
        guard = {"expiry": {"$exists": False}}
        updated = await self._change_once(old["_id"], guard, {"$set": {"expiry": expiry}}, rotated)
        if updated is None:
            await self.keys.delete_one({"_id": document["_id"]})
            raise ServiceError("conflict", "the key was revoked or rotated meanwhile")
        return NewApiKey(api_key=key, key=view_of(document), replaces=view_of(updated))

    async def _check_grant(self, actor: Actor, scopes: list[Scope], mode: KeyMode) -> None:
        """A key never has more scopes than its creator; an API key makes keys of its mode."""
        missing = [scope.value for scope in scopes if scope not in grantable_scopes(actor)]
        if missing:
            raise ServiceError(
                "forbidden", f"you cannot grant {', '.join(missing)}: a key has no more than you"
            )
        if actor.kind == "api_key":
            own = await self.keys.find_one({"_id": actor.id}, {"mode": 1})
            if own is None or own.get("mode") != mode:
                raise ServiceError("forbidden", f"a {mode} key needs a {mode} key to create it")

    async def _own_key(self, partner_id: str, key_id: str) -> dict[str, Any]:
        """The partner's key; another partner's key is as unknown as a missing one."""
        record = await self.keys.find_one({"_id": key_id, "partner_id": partner_id})
        if record is None:
            raise NO_SUCH_KEY
        return record

    def _new_key(
        self,
        actor: Actor,
        partner_id: str,
        name: str,
        scopes: list[Scope],
        mode: KeyMode,
        now: datetime,
        rotated_from: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        key, parsed = apikeys.generate(mode)
        document = keys_store.key_document(
            parsed,
            partner_id=partner_id,
            name=name,
            scopes=scopes,
            secret_hmac=apikeys.secret_digest(parsed.secret, self.pepper),
            actor=actor,
            now=now,
            rotated_from=rotated_from,
        )
        return key, document

    async def _change_once(
        self, key_id: str, guard: dict[str, Any], change: dict[str, Any], event: ApiKeyRevoked
    ) -> dict[str, Any] | None:
        """Apply `change` to an unrevoked key with its event in the outbox; None if the key
        was revoked (or failed `guard`) meanwhile."""
        await keys_store.adopt_outbox(self.keys, key_id)
        updated: dict[str, Any] | None = await self.keys.find_one_and_update(
            {"_id": key_id, "revocation": {"$exists": False}, **guard},
            add_outbox(change, self.outgoing(event)),
            return_document=ReturnDocument.AFTER,
        )
        return updated


def _by(actor: Actor, now: datetime) -> dict[str, Any]:
    return {"at": now, "by": actor.id, "by_kind": actor.kind}


def _request_id(context: MessageContext) -> str:
    return context.message_id or new_id("msg")


def register(service: Service, settings: AccountsSettings, *, clock: Clock = utcnow) -> None:
    """Answer the API-key queries and relay the keys' revocation events."""
    keys = ApiKeys(
        db=service.db,
        settings=settings,
        outgoing=service.bus.outgoing,
        clock=clock,
    )
    service.outbox.collections.append(store.API_KEYS)
    service.startup.append(lambda: keys_store.create_indexes(service.db, store.API_KEYS))
    service.router.answer(VerifyApiKey, keys.verify_api_key)
    service.router.answer(CreateApiKey, keys.create_api_key)
    service.router.answer(ListApiKeys, keys.list_api_keys)
    service.router.answer(RevokeApiKey, keys.revoke_api_key)
    service.router.answer(RotateApiKey, keys.rotate_api_key)
