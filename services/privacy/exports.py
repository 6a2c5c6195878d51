"""Export packages of access and portability requests: parts in, one ZIP out, signed links.

Each data-owning service's export arrives in parts (or, when small, inside its signed result,
kept in `exports`). When a request closes (its `PrivacyRequestClosed` event, or a direct call),
`build_package` reassembles every service's export, checks it against the SHA-256 its signed
receipt covers, and stores one ZIP package in chunks until 7 days after the close. A package
waiting for parts still on the way is built when the last one arrives; one whose data does
not match a receipt is refused with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from contracts.privacy import PrivacyAction, PrivacyRequestClosed, RequestType, TaskStatus
from contracts.privacy_exports import FetchExportChunk, GetExportLink, PrivacyExportPart
from privacy import export_store, receipts, store
from privacy.export_package import RequestFacts, build_zip
from privacy.export_queries import ExportQueries
from privacy.settings import PrivacySettings
from privacy.store import Db
from servicekit.clock import Clock, utcnow
from servicekit.export_parts import PartsMismatch, export_bytes, join_parts
from servicekit.messages import MessageContext
from servicekit.service import Service

log = structlog.get_logger("privacy.exports")

EXPORTING = frozenset({RequestType.ACCESS.value, RequestType.PORTABILITY.value})
SWEEP_EVERY_SECONDS = 3600.0


class PackageStatus(StrEnum):
    """Where a request's export package stands."""

    BUILDING = "building"
    WAITING_FOR_PARTS = "waiting_for_parts"
    READY = "ready"
    FAILED = "failed"


UNFINISHED = (PackageStatus.BUILDING.value, PackageStatus.WAITING_FOR_PARTS.value)


class Refused(Exception):
    """A service's export that cannot go into the package (the reason is shown to ops)."""


class Waiting(Exception):
    """A service's export whose parts have not all arrived yet."""


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


async def signed_digest(db: Db, task: dict[str, Any]) -> str | None:
    """The export SHA-256 that the task's accepted receipt signed, if any."""
    receipt = await db[receipts.RECEIPTS].find_one({"_id": task.get("receipt")})
    if receipt is None or receipt.get("verdict") != receipts.Verdict.ACCEPTED.value:
        raise Refused("the task has no accepted receipt")
    digest = json.loads(receipt["signed"]).get("export_sha256")
    return str(digest) if digest else None


async def export_data(db: Db, task: dict[str, Any]) -> bytes:
    """The bytes of a task's export: from its parts, else from the export kept whole."""
    parts = await export_store.parts_of(db, task["task_id"])
    if parts:
        try:
            return join_parts(parts)
        except PartsMismatch as incomplete:
            raise Waiting(str(incomplete)) from None
    kept = await db[store.EXPORTS].find_one({"_id": task["task_id"]})
    if kept is None:
        raise Waiting("no part of the export arrived yet")
    return export_bytes(kept["data"])


async def verified_export(db: Db, service: str, task: dict[str, Any]) -> dict[str, Any]:
    """A service's export, once its SHA-256 matches the one its signed receipt covers."""
    digest = await signed_digest(db, task)
    if digest is None:
        raise Refused(f"the signed receipt of {service} covers no export")
    data = await export_data(db, task)
    if hashlib.sha256(data).hexdigest() != digest:
        raise Refused(
            f"the export of {service} does not match the SHA-256 its signed receipt covers"
        )
    exported: dict[str, Any] = json.loads(data)
    return exported


async def _open_package(db: Db, closing: Closing, now: datetime) -> dict[str, Any]:
    """The request's package document, created on the first call."""
    document: dict[str, Any] = {
        "_id": closing.request_id,
        "type": closing.request["type"],
        "status": PackageStatus.BUILDING.value,
        "expires_at": closing.closed_at + export_store.KEPT_FOR,
        "opened": {"at": now},
    }
    if closing.request.get("partner_id"):
        document["partner_id"] = closing.request["partner_id"]
    try:
        await db[export_store.PACKAGES].insert_one(document)
    except DuplicateKeyError:
        found = await export_store.package(db, closing.request_id)
        if found is not None:
            return found
    return document


async def _set_status(db: Db, request_id: str, status: PackageStatus, **fields: Any) -> None:
    await db[export_store.PACKAGES].update_one(
        {"_id": request_id, "status": {"$nin": [PackageStatus.READY.value]}},
        {"$set": {"status": status.value, **fields}},
    )


async def build_package(db: Db, request: dict[str, Any], now: datetime) -> None:
    """Build the export package of a closed access or portability request (once; other
    request types are left alone). Call it when the request closes; safe to call again."""
    if request.get("type") not in EXPORTING:
        return
    closing = Closing(request=request, closed_at=request.get("completion", {}).get("at") or now)
    if not closing.exporting_tasks():
        log.info("export_package_empty", request_id=closing.request_id)
        return
    package = await _open_package(db, closing, now)
    if package["status"] in (PackageStatus.READY.value, PackageStatus.FAILED.value):
        return
    exports: dict[str, dict[str, Any]] = {}
    try:
        for service, task in closing.exporting_tasks().items():
            exports[service] = await verified_export(db, service, task)
    except Waiting as waiting:
        log.info("export_package_waiting", request_id=closing.request_id, reason=str(waiting))
        await _set_status(db, closing.request_id, PackageStatus.WAITING_FOR_PARTS)
        return
    except Refused as refused:
        log.warning("export_package_refused", request_id=closing.request_id, error=str(refused))
        await _set_status(db, closing.request_id, PackageStatus.FAILED, error=str(refused))
        return
    await _store_zip(db, closing, exports, package["expires_at"], now)


async def _store_zip(
    db: Db, closing: Closing, exports: dict[str, dict[str, Any]], expires: datetime, now: datetime
) -> None:
    file = build_zip(closing.facts, exports)
    chunks = await export_store.save_file(db, closing.request_id, file, expires)
    described = {
        "filename": file.filename,
        "size": file.size,
        "sha256": file.sha256,
        "chunks": chunks,
        "at": now,
    }
    await _set_status(db, closing.request_id, PackageStatus.READY, file=described)
    dropped = await export_store.drop_parts(db, closing.request_id)
    # Exports that came whole inside their results are in the package now, too.
    await db[store.EXPORTS].delete_many({"request_id": closing.request_id})
    log.info(
        "export_package_ready",
        request_id=closing.request_id,
        size=file.size,
        services=sorted(exports),
        parts_dropped=dropped,
    )


async def part_arrived(db: Db, part: PrivacyExportPart, now: datetime) -> None:
    """Keep an export part; if its request's package waits for parts, try building it again."""
    request = await db[store.REQUESTS].find_one({"_id": part.request_id})
    task = (request or {}).get("tasks", {}).get(part.service, {})
    if request is None or task.get("task_id") != part.task_id:
        log.warning("export_part_for_unknown_task", request_id=part.request_id)
        return
    package = await export_store.package(db, part.request_id)
    if package is not None and package["status"] not in UNFINISHED:
        return  # a repeat after the package was built or refused: nothing left to do
    await export_store.keep_part(db, part, now)
    package = await export_store.package(db, part.request_id)
    # A build that began before this part was stored may be about to wait for it: build too.
    if package is not None and package["status"] in UNFINISHED:
        await build_package(db, request, now)


async def sweep_forever(db: Db, clock: Clock) -> None:
    """Delete expired packages, files and parts every hour, reporting how many."""
    while True:
        try:
            removed = await export_store.sweep_expired(db, clock())
            log.info("export_packages_swept", removed=removed)
        except Exception as failure:
            log.warning("export_sweep_failed", error=repr(failure))
        await asyncio.sleep(SWEEP_EVERY_SECONDS)


def register(service: Service, settings: PrivacySettings, clock: Clock = utcnow) -> None:
    """Wire export packages into the privacy service: parts, the package built when an access
    or portability request closes (`privacy.request_closed.v1`, which privacy publishes
    itself), link and chunk queries, and the 7-day sweep."""
    db = service.db
    queries = ExportQueries(
        db,
        settings.export_link_key.get_secret_value() if settings.export_link_key else None,
        timedelta(seconds=settings.export_link_ttl_seconds),
        clock,
    )

    async def on_part(part: PrivacyExportPart, _context: MessageContext) -> None:
        await part_arrived(db, part, clock())

    async def on_closed(event: PrivacyRequestClosed, _context: MessageContext) -> None:
        if event.type.value not in EXPORTING:
            return
        request = await db[store.REQUESTS].find_one({"_id": event.request_id})
        if request is not None:
            await build_package(db, request, clock())

    service.startup.append(lambda: export_store.create_indexes(db))
    service.router.on(PrivacyExportPart, on_part)
    service.router.on(PrivacyRequestClosed, on_closed)
    service.router.answer(GetExportLink, queries.link)
    service.router.answer(FetchExportChunk, queries.chunk)
    service.background.append(lambda: sweep_forever(db, clock))
