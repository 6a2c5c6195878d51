"""The package document of an export request: which build it is, and where it stands.

One document per request in `export_packages`. It is opened when the request first closes
(`for_close`: the final state it was built for and when that was reached, `generation` 0),
and reopened for a new build (`generation` + 1) when the request closes again: in another
state after a late answer, or after a re-run.
Every status change names the build it belongs to, so a build overtaken by a newer one never
overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import structlog
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from contracts.privacy import PrivacyAction, TaskStatus
from privacy import export_store
from privacy.export_package import RequestFacts
from privacy.store import Db

log = structlog.get_logger("privacy.exports")


class PackageStatus(StrEnum):
    """Where a request's export package stands."""

    BUILDING = "building"
    WAITING_FOR_PARTS = "waiting_for_parts"
    READY = "ready"
    FAILED = "failed"


UNFINISHED = (PackageStatus.BUILDING.value, PackageStatus.WAITING_FOR_PARTS.value)


@dataclass(frozen=True)
class Closing:
    """The facts of a closed request that its package is built from."""

    request: dict[str, Any]
    closed_at: datetime

    @property
    def request_id(self) -> str:
        """The request's id."""
        return str(self.request["_id"])

    @property
    def status(self) -> str:
        """The final state the request closed in."""
        return str(self.request.get("status"))

    @property
    def close_key(self) -> str:
        """Which close of the request this is: its final state and when it was reached. A
        package is built once per close (a repeated event finds the same key)."""
        closed = (self.request.get("completion") or {}).get("at")
        return f"{self.status}@{closed.isoformat() if isinstance(closed, datetime) else ''}"

    @property
    def facts(self) -> RequestFacts:
        """What the package says about the request."""
        return RequestFacts(
            request_id=self.request_id,
            type=str(self.request["type"]),
            created_at=self.request["created_at"],
            completed_at=self.closed_at,
            not_included={
                service: str(task.get("status"))
                for service, task in sorted(self.request.get("tasks", {}).items())
                if service not in self.exporting_tasks()
            },
        )

    def exporting_tasks(self) -> dict[str, dict[str, Any]]:
        """Service to task, for the export tasks that completed."""
        return {
            service: task
            for service, task in sorted(self.request.get("tasks", {}).items())
            if task.get("action") == PrivacyAction.EXPORT.value
            and task.get("status") == TaskStatus.COMPLETED.value
        }


async def open_package(db: Db, closing: Closing, now: datetime) -> dict[str, Any]:
    """The request's package document, created on the first call; reopened for a new build
    when the request has closed again since (a late answer came in, or it was re-run)."""
    document: dict[str, Any] = {
        "_id": closing.request_id,
        "type": closing.request["type"],
        "status": PackageStatus.BUILDING.value,
        "for_close": closing.close_key,
        "generation": 0,
        "expires_at": closing.closed_at + export_store.KEPT_FOR,
        "opened": {"at": now},
    }
    if closing.request.get("partner_id"):
        document["partner_id"] = closing.request["partner_id"]
    try:
        await db[export_store.PACKAGES].insert_one(document)
    except DuplicateKeyError:
        found = await export_store.package(db, closing.request_id)
        if found is not None and found.get("for_close") != closing.close_key:
            return await reopen(db, found, closing)
        if found is not None:
            return found
    return document


def this_build(package: dict[str, Any]) -> dict[str, Any]:
    """A filter matching the package document while it is still the same build."""
    generation = package.get("generation")
    return {
        "_id": package["_id"],
        "generation": {"$exists": False} if generation is None else generation,
    }


async def reopen(db: Db, package: dict[str, Any], closing: Closing) -> dict[str, Any]:
    """Start the next build of a package (once per close of the request: of racing calls one
    reopens, the others read its build). Until the new file is stored,
    links answer that the package is being built; the earlier file's chunks are deleted
    then. The package keeps its expiry (7 days after the first close)."""
    reopened = await db[export_store.PACKAGES].find_one_and_update(
        this_build(package),
        {
            "$set": {
                "status": PackageStatus.BUILDING.value,
                "for_close": closing.close_key,
                "generation": int(package.get("generation") or 0) + 1,
            },
            "$unset": {"error": ""},
        },
        return_document=ReturnDocument.AFTER,
    )
    if reopened is not None:
        log.info(
            "export_package_rebuilding", request_id=closing.request_id, for_close=closing.close_key
        )
        return reopened
    return await export_store.package(db, closing.request_id) or package


async def set_status(db: Db, package: dict[str, Any], status: PackageStatus, **fields: Any) -> None:
    """Set the status of the package's build, unless it is ready or a newer build began."""
    await db[export_store.PACKAGES].update_one(
        {**this_build(package), "status": {"$nin": [PackageStatus.READY.value]}},
        {"$set": {"status": status.value, **fields}},
    )
