"""Export packages of access and portability requests: parts in, one ZIP out, signed links.

Each data-owning service's export arrives in parts (or, when small, inside its signed result,
kept in `exports`). When a request closes (its `PrivacyRequestClosed` event, or a direct call),
`build_package` reassembles every service's export, checks it against the SHA-256 its signed
receipt covers, and stores one ZIP package in chunks until 7 days after the close. A package
waiting for parts still on the way is built when the last one arrives (parts and results
arrive in any order); one whose data does not match a receipt is refused with the reason.
A request that closes again (a late answer completed it, or it was re-run) gets its package
built anew, under a new generation that replaces the earlier file; the link stays the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from contracts.privacy import (
    FINAL_STATUSES,
    PrivacyRequestClosed,
    RequestStatus,
    RequestType,
)
from contracts.privacy_exports import FetchExportChunk, GetExportLink, PrivacyExportPart
from privacy import export_builds, export_store, receipts, store
from privacy.export_builds import UNFINISHED, Closing, PackageStatus
from privacy.export_package import build_zip
from privacy.export_queries import ExportQueries
from privacy.settings import PrivacySettings
from privacy.store import Db
from servicekit.clock import Clock, utcnow
from servicekit.export_parts import PartsMismatch, export_bytes, join_parts
from servicekit.messages import MessageContext
from servicekit.service import Service

log = structlog.get_logger("privacy.exports")

EXPORTING = frozenset({RequestType.ACCESS.value, RequestType.PORTABILITY.value})
CLOSED = frozenset(status.value for status in FINAL_STATUSES)
SWEEP_EVERY_SECONDS = 3600.0


class Refused(Exception):
    """A service's export that cannot go into the package (the reason is shown to ops)."""


class Waiting(Exception):
    """A service's export whose parts have not all arrived yet."""


@dataclass(frozen=True)
class Signed:
    """What a task's accepted receipt signed about its export."""

    sha256: str | None
    parts: int | None


async def signed_export(db: Db, task: dict[str, Any]) -> Signed:
    """The export SHA-256 (and part count) that the task's accepted receipt signed."""
    receipt = await db[receipts.RECEIPTS].find_one({"_id": task.get("receipt")})
    if receipt is None or receipt.get("verdict") != receipts.Verdict.ACCEPTED.value:
        raise Refused("the task has no accepted receipt")
    signed = json.loads(receipt["signed"])
    digest, count = signed.get("export_sha256"), signed.get("export_parts")
    return Signed(str(digest) if digest else None, int(count) if count else None)


async def export_data(db: Db, task: dict[str, Any], count: int | None = None) -> bytes:
    """The bytes of a task's export: from its parts (the first `count`, as signed, when
    known), else from the export kept whole. Parts may arrive before or after the result."""
    parts = await export_store.parts_of(db, task["task_id"])
    if count is not None:
        parts = [part for part in parts if part.index < count]
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
    signed = await signed_export(db, task)
    if signed.sha256 is None:
        raise Refused(f"the signed receipt of {service} covers no export")
    data = await export_data(db, task, signed.parts)
    if hashlib.sha256(data).hexdigest() != signed.sha256:
        raise Refused(
            f"the export of {service} does not match the SHA-256 its signed receipt covers"
        )
    exported: dict[str, Any] = json.loads(data)
    return exported


async def build_package(db: Db, request: dict[str, Any], now: datetime) -> None:
    """Build the export package of a closed access or portability request (once per close:
    closing again after a late answer builds it anew; other request types are left alone).
    Call it when the request closes; safe to call again."""
    if request.get("type") not in EXPORTING or request.get("status") not in CLOSED:
        return
    closing = Closing(request=request, closed_at=request.get("completion", {}).get("at") or now)
    if not closing.exporting_tasks():
        log.info("export_package_empty", request_id=closing.request_id)
        return
    package = await export_builds.open_package(db, closing, now)
    if package["status"] in (PackageStatus.READY.value, PackageStatus.FAILED.value):
        return
    exports: dict[str, dict[str, Any]] = {}
    try:
        for service, task in closing.exporting_tasks().items():
            exports[service] = await verified_export(db, service, task)
    except Waiting as waiting:
        log.info("export_package_waiting", request_id=closing.request_id, reason=str(waiting))
        await export_builds.set_status(db, package, PackageStatus.WAITING_FOR_PARTS)
        return
    except Refused as refused:
        log.warning("export_package_refused", request_id=closing.request_id, error=str(refused))
        await export_builds.set_status(db, package, PackageStatus.FAILED, error=str(refused))
        return
    await _store_zip(db, closing, exports, package, now)


async def _store_zip(
    db: Db,
    closing: Closing,
    exports: dict[str, dict[str, Any]],
    package: dict[str, Any],
    now: datetime,
) -> None:
    file = build_zip(closing.facts, exports)
    generation = int(package.get("generation") or 0)
    rid = closing.request_id
    chunks = await export_store.save_file(db, rid, file, package["expires_at"], generation)
    described = {
        "filename": file.filename,
        "size": file.size,
        "sha256": file.sha256,
        "chunks": chunks,
        "generation": generation,
        "at": now,
    }
    await export_builds.set_status(db, package, PackageStatus.READY, file=described)
    await export_store.drop_other_files(db, rid, generation)
    dropped = 0
    if closing.status == RequestStatus.COMPLETED.value:
        # Nothing can change any more: the package holds the data now. A request closed
        # with exceptions keeps its exports, for a late answer's rebuild (or the sweep).
        dropped = await export_store.drop_parts(db, rid)
        await db[store.EXPORTS].delete_many({"request_id": rid})
    log.info(
        "export_package_ready",
        request_id=rid,
        size=file.size,
        services=sorted(exports),
        generation=generation,
        parts_dropped=dropped,
    )


async def part_arrived(db: Db, part: PrivacyExportPart, now: datetime) -> None:
    """Keep an export part; if its request's package waits for parts, try building it again."""
    request = await db[store.REQUESTS].find_one({"_id": part.request_id})
    task = (request or {}).get("tasks", {}).get(part.service, {})
    if request is None or task.get("task_id") != part.task_id:
        log.warning("export_part_for_unknown_task", request_id=part.request_id)
        return
    # Kept even once a package is built: a late answer's parts may arrive before its request
    # closes again (and a repeat of a part changes nothing).
    changed = await export_store.keep_part(db, part, now)
    package = await export_store.package(db, part.request_id)
    if package is None:
        return  # the request has not closed yet: its close builds the package
    if changed and package["status"] == PackageStatus.FAILED.value:
        # A part cut anew (the owner re-ran the task) replaced one the build refused.
        await export_builds.set_status(db, package, PackageStatus.BUILDING)
        package["status"] = PackageStatus.BUILDING.value
    # A build that began before this part was stored may be about to wait for it: build too.
    if package["status"] in UNFINISHED:
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
    # Built once per close: a repeated event finds the package and changes nothing.
    service.router.on(PrivacyRequestClosed, on_closed, idempotent=True)
    service.router.answer(GetExportLink, queries.link)
    service.router.answer(FetchExportChunk, queries.chunk)
    service.background.append(lambda: sweep_forever(db, clock))
