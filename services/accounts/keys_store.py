"""How API keys are stored, read back and paged (decision 0002's vocabulary only).

A key document, `_id` = the key id:
`{"_id", "partner_id", "name", "prefix", "mode", "scopes", "secret_hmac", "created_at",
"created_by": {"kind", "id"}, "rotated_from"?, "last_used"?: {"at"},
"expiry"?: {"at", "replaced_by", "by"}, "revocation"?: {"at", "by", "by_kind"},
"_outbox", "_outbox_pending"}`. Only the HMAC of the secret is kept, never the key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from accounts import apikeys
from accounts.store import Db
from contracts.accounts import Actor, Scope
from contracts.apikeys import ApiKeyView
from servicekit.errors import ServiceError
from servicekit.outbox import OUTBOX, PENDING, with_outbox

Keys = AsyncCollection[dict[str, Any]]

REQUESTS = "api_key_requests"
"""Message ids of create and rotate requests carried out: a redelivered one creates nothing."""


async def create_indexes(db: Db, keys: str) -> None:
    """Listing reads a partner's keys newest first through one index."""
    await db[keys].create_index([("partner_id", 1), ("created_at", -1)])


def to_millis(moment: datetime) -> datetime:
    """`moment` as the store keeps it (milliseconds), so a view reads the same before and
    after a round trip."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def key_document(
    parsed: apikeys.ParsedKey,
    *,
    partner_id: str,
    name: str,
    scopes: list[Scope],
    secret_hmac: str,
    actor: Actor,
    now: datetime,
    rotated_from: str | None = None,
) -> dict[str, Any]:
    """A new key's document (with an empty outbox, for its revocation event later)."""
    document: dict[str, Any] = {
        "_id": parsed.key_id,
        "partner_id": partner_id,
        "name": name,
        "prefix": parsed.prefix,
        "mode": parsed.mode,
        "scopes": [scope.value for scope in scopes],
        "secret_hmac": secret_hmac,
        "created_at": now,
        "created_by": {"kind": actor.kind, "id": actor.id},
    }
    if rotated_from is not None:
        document["rotated_from"] = rotated_from
    return with_outbox(document)


def _at(document: dict[str, Any], field: str) -> datetime | None:
    value = document.get(field)
    moment = value.get("at") if isinstance(value, dict) else None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if isinstance(moment, datetime) else None


def is_working(document: dict[str, Any], now: datetime) -> bool:
    """Not revoked, and not past the end of a rotation's overlap window."""
    expires_at = _at(document, "expiry")
    return "revocation" not in document and (expires_at is None or now < expires_at)


def view_of(document: dict[str, Any]) -> ApiKeyView:
    """What listings show of a key."""
    created_at: datetime = document["created_at"]
    return ApiKeyView(
        id=document["_id"],
        name=document.get("name", ""),
        prefix=document["prefix"],
        mode=document["mode"],
        scopes=[Scope(scope) for scope in document["scopes"]],
        created_at=created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC),
        last_used_at=_at(document, "last_used"),
        expires_at=_at(document, "expiry"),
        revoked_at=_at(document, "revocation"),
    )


async def claim_request(db: Db, message_id: str, kind: str, now: datetime) -> None:
    """Record that this request is being carried out; refuse one carried out before.

    A redelivered create or rotate would otherwise make a second key whose secret nobody
    ever sees. The claim comes first, so a crash after it loses the key instead: the caller
    saw no answer and asks again.
    """
    try:
        await db[REQUESTS].insert_one({"_id": message_id, "kind": kind, "at": now})
    except DuplicateKeyError:
        raise ServiceError("conflict", "this request was already carried out") from None


async def adopt_outbox(keys: Keys, key_id: str) -> None:
    """Give a key stored without an outbox (seeded, or older) an empty one.

    `$addToSet` onto a missing array is a silent no-op on nx-27017; `$push` of an empty
    `$each` creates the array on both servers.
    """
    await keys.update_one(
        {"_id": key_id, OUTBOX: {"$exists": False}},
        {"$push": {OUTBOX: {"$each": []}}, "$set": {PENDING: 0}},
    )


async def record_use(keys: Keys, document: dict[str, Any], now: datetime, every: timedelta) -> None:
    """Write the key's last-used time, at most once per `every`."""
    last = _at(document, "last_used")
    if last is not None and now - last < every:
        return
    guard: dict[str, Any] = (
        {"last_used": {"$exists": False}}
        if last is None
        else {"last_used.at": {"$lt": now - every}}
    )
    await keys.update_one({"_id": document["_id"], **guard}, {"$set": {"last_used": {"at": now}}})


# Paging: newest first, by (created_at, _id), without `$or`.

Position = tuple[datetime, str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_CURSOR = re.compile(r"^([0-9]{1,15})\.([0-9A-Za-z]{1,40})$")


def encode_cursor(document: dict[str, Any]) -> str:
    """The cursor after `document`: its creation time in milliseconds and its id."""
    created_at: datetime = document["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return f"{(created_at - _EPOCH) // _MILLISECOND}.{document['_id']}"


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; `invalid_request` if it is not one of ours."""
    match = _CURSOR.match(cursor)
    try:
        if match is not None:
            return _EPOCH + int(match.group(1)) * _MILLISECOND, match.group(2)
    except OverflowError:
        pass
    raise ServiceError("invalid_request", "the cursor is not valid")


async def _batch(keys: Keys, partner_id: str, after: Position | None, size: int) -> list[Any]:
    working = {"partner_id": partner_id, "revocation": {"$exists": False}}
    order = [("created_at", -1), ("_id", 1)]
    if after is None:
        return await keys.find(working).sort(order).limit(size).to_list()
    at, key_id = after
    same_time = {**working, "created_at": {"$gte": at, "$lte": at}, "_id": {"$gt": key_id}}
    batch = await keys.find(same_time).sort("_id", 1).limit(size).to_list()
    if len(batch) < size:
        older = {**working, "created_at": {"$lt": at}}
        batch += await keys.find(older).sort(order).limit(size - len(batch)).to_list()
    return batch


async def scan(
    keys: Keys, partner_id: str, after: Position | None, size: int
) -> AsyncGenerator[dict[str, Any], None]:
    """A partner's unrevoked keys after `after`, newest first, read `size` at a time."""
    while True:
        batch = await _batch(keys, partner_id, after, size)
        for document in batch:
            yield document
        if len(batch) < size:
            return
        last = batch[-1]
        after = (last["created_at"], last["_id"])


async def page(
    keys: Keys, partner_id: str, cursor: str | None, limit: int, now: datetime
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` working keys after `cursor`, and the cursor of the next page (None: last).

    Revoked keys are filtered by the query; expired ones (a rotation's old key) in Python.
    """
    after = decode_cursor(cursor) if cursor else None
    found: list[dict[str, Any]] = []
    async with aclosing(scan(keys, partner_id, after, limit + 1)) as documents:
        async for document in documents:
            if not is_working(document, now):
                continue
            if len(found) == limit:
                return found, encode_cursor(found[-1])
            found.append(document)
    return found, None
