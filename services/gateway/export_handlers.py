"""Export packages of access and portability requests: the signed link, and the download.

`GET /v1/privacy/requests/{id}/export` (`privacy:read`) answers a signed link that expires.
`GET /v1/privacy/exports/{token}` needs no API key: the signed token is the authority. It
streams the ZIP file chunk by chunk from the privacy service, never holding it whole.
"""

from __future__ import annotations

import base64
from typing import Any

import structlog
from aiohttp import web

from contracts.accounts import Scope
from contracts.privacy import RequestChannel
from contracts.privacy_exports import ExportChunk, ExportLink, FetchExportChunk, GetExportLink
from gateway.api import Call, Endpoint
from gateway.openapi import ERRORS
from gateway.problems import PROBLEM_JSON, ApiError, from_remote
from servicekit.bus import Bus
from servicekit.errors import RemoteCallError

TO = "privacy"
DOWNLOAD_ROUTE = "/v1/privacy/exports/{token}"
ZIP = "application/zip"

log = structlog.get_logger("gateway")


class ExportHandlers:
    """Endpoint functions of the export link and download."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def get_link(self, call: Call) -> ExportLink:
        """A signed download link to the export package of one of the partner's requests."""
        query = GetExportLink(
            request_id=call.path["id"],
            partner_id=call.principal.partner_id,
            channel=RequestChannel.PARTNER,
        )
        return await self.bus.request(query, to=TO, reply=ExportLink, timeout=self.timeout)

    async def _chunk(self, token: str, index: int) -> ExportChunk:
        query = FetchExportChunk(token=token, index=index)
        try:
            return await self.bus.request(query, to=TO, reply=ExportChunk, timeout=self.timeout)
        except RemoteCallError as error:
            raise download_error(error) from None

    async def download(self, request: web.Request) -> web.StreamResponse:
        """Stream the package a signed token names; 403 for a forged token, 410 once expired."""
        token = request.match_info["token"]
        if not 0 < len(token) <= 512:
            raise ApiError(403, "forbidden", "Forbidden", "the download link is not valid")
        first = await self._chunk(token, 0)
        response = web.StreamResponse(
            headers={
                "Content-Type": ZIP,
                "Content-Disposition": f'attachment; filename="{first.filename}"',
                "Cache-Control": "no-store",
            }
        )
        response.content_length = first.size
        await response.prepare(request)
        await response.write(base64.b64decode(first.data))
        try:
            for index in range(1, first.count):
                chunk = await self._chunk(token, index)
                await response.write(base64.b64decode(chunk.data))
        except ApiError as error:
            # The headers are sent: cut the connection, so the client sees an incomplete file.
            log.warning("export_download_cut", code=error.code)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


def download_error(error: RemoteCallError) -> ApiError:
    """The API's error for a refused download: 410 once expired or deleted, else as usual."""
    if error.code == "gone":
        return ApiError(410, "gone", "Gone", error.message)
    return from_remote(error)


def add_download_route(app: web.Application, bus: Bus, timeout: float) -> None:
    """Mount `GET /v1/privacy/exports/{token}`: no API key, the signed token is the authority
    (so it is not one of the key-checked `Endpoint`s)."""
    app.router.add_get(
        DOWNLOAD_ROUTE, ExportHandlers(bus, timeout).download, name="downloadPrivacyExport"
    )


DOWNLOAD_ERRORS = {
    "403": "The link is not valid (altered, or not one of ours)",
    "410": "The link expired, or the package was deleted 7 days after the request closed",
    **{status: ERRORS[status] for status in ("502", "503", "504")},
}


def download_openapi() -> dict[str, Any]:
    """The OpenAPI path item of the download (it is not an `Endpoint`: no API key), to merge
    into the document's `paths`."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operation = {
        "operationId": "downloadPrivacyExport",
        "summary": "Download an export package through its signed link",
        "description": "No API key: the signed, expiring token in the path is the only"
        " credential. The answer is the ZIP file as an attachment (never cached).",
        "tags": ["privacy"],
        "parameters": [
            {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {
                "description": "The ZIP file",
                "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
            },
            **{
                status: {"description": text, "content": problem}
                for status, text in DOWNLOAD_ERRORS.items()
            },
        },
        "security": [{}],
    }
    return {DOWNLOAD_ROUTE: {"get": operation}}


def export_endpoints(handlers: ExportHandlers) -> list[Endpoint]:
    """The export link of a request: needs `privacy:read`."""
    return [
        Endpoint(
            "GET",
            "/v1/privacy/requests/{id}/export",
            "getPrivacyExportLink",
            "Get a download link to the export package of an access or portability request",
            handlers.get_link,
            ExportLink,
            scope=Scope.PRIVACY_READ,
            conflicts=True,
            tags=["privacy"],
            description="Once the request completed, its package is a ZIP file: `manifest.json`"
            " (the request, every service with its categories and record counts, every file"
            " with its SHA-256), one JSON file per service and category, a CSV file for"
            " categories that are tables, and `SUMMARY.txt`. The link is signed and expires"
            " (24 hours by default); whoever holds it can download the file without an API key,"
            " so hand it only to the person concerned. The package is deleted 7 days after the"
            " request closed. 409 while there is no package (not completed, not an export"
            " request, or deleted).",
        ),
    ]
