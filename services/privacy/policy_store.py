"""The privacy service's policy collections: versions, notices, acknowledgements, sweeps.

Every record is created by an insert keyed by its business key (the version number; partner
and version), so a repeated message or request finds the record it made (decision 0002).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from contracts.policy import PolicyNotice, PolicyVersionView
from contracts.retention import RetentionSwept
from privacy.store import Db

POLICY_VERSIONS = "policy_versions"
POLICY_NOTICES = "policy_notices"
POLICY_ACKNOWLEDGEMENTS = "policy_acknowledgements"
RETENTION_SWEEPS = "retention_sweeps"


async def create_indexes(db: Db) -> None:
    """Versions by number (unique) and effective date; notices and acknowledgements by partner."""
    await db[POLICY_VERSIONS].create_index("version", unique=True)
    await db[POLICY_VERSIONS].create_index("effective_at")
    await db[POLICY_NOTICES].create_index("partner_id")
    await db[POLICY_ACKNOWLEDGEMENTS].create_index("partner_id")


def version_id(version: int) -> str:
    """The `_id` of a version: zero-padded, so ids sort as numbers do."""
    return f"v{version:06d}"


def pair_id(partner_id: str, version: int) -> str:
    """The key of a partner's notice or acknowledgement of one version."""
    return f"{partner_id}:{version_id(version)}"


def version_view(document: dict[str, Any]) -> PolicyVersionView:
    """A stored version as its reply."""
    return PolicyVersionView(
        version=document["version"],
        text=document["text"],
        published_at=document["published_at"],
        effective_at=document["effective_at"],
        last_updated=document["last_updated"].date(),
        material=document["material"],
        summary=document["summary"],
    )


def to_millis(moment: datetime) -> datetime:
    """A time as the store keeps it (milliseconds), so fresh and stored answers agree."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def midnight(day: date) -> datetime:
    """A calendar date as a stored datetime (BSON has no date type)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def latest_version(db: Db) -> dict[str, Any] | None:
    """The most recently published version, in force or not."""
    return await db[POLICY_VERSIONS].find_one({}, sort=[("version", DESCENDING)])


async def current_version(db: Db, now: datetime) -> dict[str, Any] | None:
    """The version in force at `now`: the latest whose effective date has passed."""
    return await db[POLICY_VERSIONS].find_one(
        {"effective_at": {"$lte": now}}, sort=[("version", DESCENDING)]
    )


async def find_version(db: Db, version: int) -> dict[str, Any] | None:
    """One version by number."""
    return await db[POLICY_VERSIONS].find_one({"_id": version_id(version)})


async def insert_version(db: Db, document: dict[str, Any]) -> bool:
    """Store a new version; False when its number was taken meanwhile."""
    try:
        await db[POLICY_VERSIONS].insert_one(document)
    except DuplicateKeyError:
        return False
    return True


async def record_notice(
    db: Db, partner_id: str, version: dict[str, Any], notified_at: datetime
) -> None:
    """The partner's banner for a version (once; a repeat keeps the first)."""
    document = {
        "_id": pair_id(partner_id, version["version"]),
        "partner_id": partner_id,
        "version": version["version"],
        "summary": version["summary"],
        "published_at": version["published_at"],
        "effective_at": version["effective_at"],
        "notified_at": notified_at,
    }
    try:
        await db[POLICY_NOTICES].insert_one(document)
    except DuplicateKeyError:
        return


async def record_acknowledgement(
    db: Db, partner_id: str, version: int, by: str, now: datetime
) -> dict[str, Any]:
    """Store the partner's acknowledgement of a version once; the stored one."""
    document = {
        "_id": pair_id(partner_id, version),
        "partner_id": partner_id,
        "version": version,
        "at": to_millis(now),
        "by": by,
    }
    try:
        await db[POLICY_ACKNOWLEDGEMENTS].insert_one(document)
    except DuplicateKeyError:
        existing = await db[POLICY_ACKNOWLEDGEMENTS].find_one({"_id": document["_id"]})
        assert existing is not None  # acknowledgements are never deleted
        return existing
    return document


async def notices_of(db: Db, partner_id: str) -> list[PolicyNotice]:
    """A partner's notices, newest version first, with their acknowledgements."""
    acknowledged = {
        doc["version"]: doc["at"]
        async for doc in db[POLICY_ACKNOWLEDGEMENTS].find({"partner_id": partner_id})
    }
    cursor = db[POLICY_NOTICES].find({"partner_id": partner_id}).sort("version", DESCENDING)
    return [
        PolicyNotice(
            version=doc["version"],
            summary=doc["summary"],
            published_at=doc["published_at"],
            effective_at=doc["effective_at"],
            notified_at=doc["notified_at"],
            acknowledged_at=acknowledged.get(doc["version"]),
        )
        async for doc in cursor.limit(100)
    ]


async def record_sweep(db: Db, sweep: RetentionSwept) -> None:
    """Keep a service's latest sweep: an older report never replaces a newer one."""
    latest = {
        "swept_at": sweep.swept_at,
        "removed": dict(sweep.removed),
        "partners_erased": sweep.partners_erased,
    }
    newer = await db[RETENTION_SWEEPS].update_one(
        {"_id": sweep.service, "latest.swept_at": {"$lt": sweep.swept_at}},
        {"$set": {"latest": latest}},
    )
    if newer.matched_count:
        return
    try:
        await db[RETENTION_SWEEPS].insert_one({"_id": sweep.service, "latest": latest})
    except DuplicateKeyError:  # the stored sweep is as new or newer
        return


async def latest_sweeps(db: Db) -> dict[str, dict[str, Any]]:
    """Each service's latest retention sweep, by service name."""
    return {doc["_id"]: doc["latest"] async for doc in db[RETENTION_SWEEPS].find({})}
