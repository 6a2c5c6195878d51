"""The privacy service's collections: requests (tasks inside), the inventory registry, exports."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.privacy import OPEN_STATUSES, DataCategory
from servicekit.grouped import Group, inserts_into, per_process

REQUESTS = "requests"
OPEN_REQUESTS = "open_requests"
"""One document per open request, keyed by what makes two requests the same (partner, type,
subject, changes): a duplicate of an open request is linked to it, not run twice."""
REGISTRY = "inventory_registry"
EXPORTS = "exports"

Db = AsyncDatabase[dict[str, Any]]


async def create_indexes(db: Db) -> None:
    """Requests are listed by partner and by state, swept by their next retry, watched by
    their deadline (each then by `_id`, which every collection indexes).

    Not compound indexes with `_id`: nx-27017 then fails every write (decision 0002).
    """
    await db[REQUESTS].create_index("partner_id")
    await db[REQUESTS].create_index("status")
    await db[REQUESTS].create_index("retry.at")
    await db[REQUESTS].create_index("deadline.at")
    await db[OPEN_REQUESTS].create_index("request_id")


async def registered_services(db: Db) -> list[str]:
    """The data-owning services that announced an inventory, by name."""
    return sorted([doc["_id"] async for doc in db[REGISTRY].find({}, {"_id": 1})])


Registry = dict[str, frozenset[str] | None]
"""Each registered service by name, with the identifier kinds it finds subjects by (None: it
did not say, so it is asked always)."""


async def registry(db: Db) -> Registry:
    """Every registered service and the identifier kinds it finds subjects by."""
    found: Registry = {}
    async for entry in db[REGISTRY].find({}):
        held = entry["announcement"].get("identifiers")
        found[entry["_id"]] = None if held is None else frozenset(held)
    return found


def services_in(registered: Registry, kinds: set[str]) -> list[str]:
    """The registered services that can find a subject by one of these identifier kinds (a
    service that did not say which kinds it uses is asked always)."""
    return sorted(service for service, held in registered.items() if held is None or kinds & held)


async def services_for(db: Db, kinds: set[str]) -> list[str]:
    """`services_in` the registry as stored now."""
    return services_in(await registry(db), kinds)


async def register_inventory(
    db: Db,
    service: str,
    categories: list[DataCategory],
    identifiers: Sequence[str] | None,
    announced_at: Any,
) -> None:
    """Record (or replace) a service's inventory in the registry."""
    announcement: dict[str, Any] = {
        "categories": [c.model_dump(mode="json") for c in categories],
        "at": announced_at,
    }
    if identifiers is not None:
        announcement["identifiers"] = list(identifiers)
    await db[REGISTRY].update_one(
        {"_id": service}, {"$set": {"announcement": announcement}}, upsert=True
    )


async def record_of_processing(db: Db) -> list[Mapping[str, Any]]:
    """Every registered service with its categories: the record of processing."""
    return [doc async for doc in db[REGISTRY].find({}).sort("_id", 1)]


CLAIM_WAIT_SECONDS = 2.0
CLAIM_WAIT_POLLS = 20


def open_key(
    partner_id: str | None, request_type: str, subject: dict[str, Any], changes: Any
) -> str:
    """What makes two requests the same: who asks, what, about whom (and the new values)."""
    terms = {"partner": partner_id, "type": request_type, "subject": subject, "changes": changes}
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_open(db: Db, key: str, request_id: str) -> str | None:
    """Claim `key` for a new request; the id of the open request that holds it, if another.

    A key left by a request that was never stored (a crash between the two writes) or that is
    no longer open is taken over."""
    claim = {"_id": key, "request_id": request_id}
    if await inserts_into(db[OPEN_REQUESTS]).insert(claim):  # with other requests' claims
        return None
    held = await db[OPEN_REQUESTS].find_one({"_id": key})
    holder = held["request_id"] if held is not None else None
    if holder is not None:
        request = await _stored(db, holder)
        if request is not None and request["status"] in OPEN_STATUSES:
            return str(holder)
    await db[OPEN_REQUESTS].update_one(
        {"_id": key}, {"$set": {"request_id": request_id}}, upsert=True
    )
    return None


async def _stored(db: Db, request_id: str) -> dict[str, Any] | None:
    """The request, waiting briefly for one whose claim was just made (its twin stores it a
    moment after claiming); None if it never appears (its writer crashed in between)."""
    for _ in range(CLAIM_WAIT_POLLS):
        request = await db[REQUESTS].find_one({"_id": request_id}, {"status": 1})
        if request is not None:
            return request
        await asyncio.sleep(CLAIM_WAIT_SECONDS / CLAIM_WAIT_POLLS)
    return None


def open_key_of(request: Mapping[str, Any]) -> str:
    """The `open_key` of a stored request, from the terms it was opened with."""
    return open_key(
        request.get("scope_partner_id"), request["type"], request["subject"], request.get("changes")
    )


async def release_open(db: Db, request: Mapping[str, Any]) -> None:
    """The request is closed: a new one with the same terms runs again.

    The claim is deleted by its `_id` (and only while this request holds it): nx-27017 serves a
    delete filtered on any other field by reading the whole collection (decision 0002), which
    made every closing cost as much as the open requests there are. A claim left behind (a
    crash before this) is taken over by the next request with the same terms."""
    await _releases(db).call((open_key_of(request), str(request["_id"])))


Claim = tuple[str, str]
"""An open key and the request that holds it."""


def _releases(db: Db) -> Group[Claim, None]:
    """This process's releases of claims in `db`, made together while one is at the store."""
    releases: Group[Claim, None] = per_process(
        "release", db[OPEN_REQUESTS], lambda: Group(lambda claims: _release_many(db, claims))
    )
    return releases


async def _release_many(db: Db, claims: list[Claim]) -> list[None]:
    """Delete these claims, each only while its request holds it. One `$in` on both fields is
    exact: a claim held by a request in the batch is that request's own key (the key is made
    from the request's terms), so it is never a pair the batch did not name."""
    if len(claims) == 1:
        key, request_id = claims[0]
        await db[OPEN_REQUESTS].delete_one({"_id": key, "request_id": request_id})
    else:
        keys, request_ids = sorted({k for k, _ in claims}), sorted({r for _, r in claims})
        await db[OPEN_REQUESTS].delete_many(
            {"_id": {"$in": keys}, "request_id": {"$in": request_ids}}
        )
    return [None] * len(claims)
