"""Answers about export packages: a signed download link, and the file chunk by chunk."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from contracts.privacy_exports import ExportChunk, ExportLink, FetchExportChunk, GetExportLink
from privacy import export_store, store
from privacy.export_links import LinkGrant, check_token, link_key, sign_token
from privacy.store import Db
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext

DOWNLOAD_PATH = "/v1/privacy/exports/{token}"
NOT_READY = (
    "the request has no export package yet (it is not an access or portability request, has"
    " not completed, or its package is still being built)"
)
PURGED = "the export package was deleted 7 days after the request closed"


class ExportQueries:
    """`GetExportLink` and `FetchExportChunk` over the privacy store."""

    def __init__(
        self, db: Db, key: str | None, ttl: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.key = link_key(key) if key else None
        self.ttl = ttl
        self.clock = clock

    def _key(self) -> bytes:
        if self.key is None:
            raise ServiceError("unavailable", "export download links are not configured")
        return self.key

    async def link(self, query: GetExportLink, _context: MessageContext) -> ExportLink:
        """A signed link to the package of the asker's request; `conflict` while there is
        none (not built yet, refused, or deleted)."""
        request = await self.db[store.REQUESTS].find_one({"_id": query.request_id})
        if (
            request is None
            or (query.partner_id is not None and request.get("partner_id") != query.partner_id)
            or (query.channel is not None and request.get("channel") != query.channel.value)
        ):
            raise ServiceError("not_found", "no such privacy request")
        now = self.clock()
        package = await ready_package(self.db, query.request_id, now, missing="conflict")
        expires_at = min(now + self.ttl, package["expires_at"])
        token = sign_token(self._key(), LinkGrant(query.request_id, expires_at))
        file = package["file"]
        return ExportLink(
            url=DOWNLOAD_PATH.format(token=token),
            expires_at=expires_at,
            size=file["size"],
            sha256=file["sha256"],
            filename=file["filename"],
            package_expires_at=package["expires_at"],
        )

    async def chunk(self, query: FetchExportChunk, _context: MessageContext) -> ExportChunk:
        """One chunk of the package a genuine, unexpired token names."""
        now = self.clock()
        grant = check_token(self._key(), query.token, now)
        package = await ready_package(self.db, grant.request_id, now, missing="gone")
        file = package["file"]
        if query.index >= file["chunks"]:
            raise ServiceError("invalid_request", f"the file has {file['chunks']} chunks")
        data = await export_store.chunk(self.db, grant.request_id, query.index)
        if data is None:
            raise ServiceError("gone", PURGED)
        return ExportChunk(
            data=base64.b64encode(data).decode(),
            index=query.index,
            count=file["chunks"],
            filename=file["filename"],
            size=file["size"],
        )


async def ready_package(db: Db, request_id: str, now: datetime, *, missing: str) -> dict[str, Any]:
    """The request's built, unexpired package; `missing` (the error code) otherwise."""
    package = await export_store.package(db, request_id)
    if package is None:
        raise ServiceError(missing, NOT_READY)
    if package["expires_at"] <= now:
        raise ServiceError(missing, PURGED)
    if package["status"] == "failed":
        raise ServiceError(
            missing, f"the export package could not be built: {package.get('error', '')}"
        )
    if package["status"] != "ready":
        raise ServiceError(missing, NOT_READY)
    return package
