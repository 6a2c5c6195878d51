"""Export packages of access and portability requests: parts on the bus, links, downloads.

A data-owning service sends its export as numbered parts (the canonical JSON's UTF-8 bytes,
cut into pieces, base64) ahead of its signed result, which names the part count and the
SHA-256 of the whole. The privacy service reassembles the parts, checks the digest against
the signed receipt, and builds one ZIP package per request that is downloaded through an
expiring signed link.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Event, Query, Reply
from contracts.privacy import RequestChannel


class PrivacyExportPart(Event):
    """One part of a service's export of a data subject (sent before the task's result)."""

    TYPE: ClassVar[str] = "privacy.export_part.v1"

    request_id: str = Field(description="The data-subject request.", examples=["dsr_01hx3y"])
    task_id: str = Field(description="The exporting service's task of that request.")
    service: str = Field(description="The exporting service.", examples=["accounts"])
    index: int = Field(ge=0, description="0, 1, 2, ... in order.", examples=[0])
    count: int = Field(ge=1, description="How many parts the export has.", examples=[3])
    data: str = Field(
        description="Base64 of this part's bytes of the export's canonical JSON (UTF-8).",
        examples=["eyJvcmRlcnMiOls="],
    )


class GetExportLink(Query):
    """A signed, expiring download link to the export package of a request."""

    TYPE: ClassVar[str] = "privacy.get_export_link.v1"

    request_id: str = Field(max_length=64, examples=["dsr_01hx3y"])
    partner_id: str | None = Field(
        default=None,
        max_length=64,
        description="Set when a partner asks: another partner's request is not found. Absent"
        " for ops.",
    )
    channel: RequestChannel | None = Field(
        default=None,
        description="Only a request opened through this channel is found (an API key reaches"
        " the exports of the partner's end users, not of its people's own requests).",
    )


class ExportLink(Reply):
    """Where to download a request's export package, until when, and what to expect."""

    TYPE: ClassVar[str] = "privacy.export_link.v1"

    url: str = Field(
        description="Path of the download on the API; the signed token in it is the only"
        " credential, so treat the link as a secret.",
        examples=["/v1/privacy/exports/eyJyIjoiZHNyXzEifQ.c2ln"],
    )
    expires_at: datetime = Field(description="When the link stops working (UTC).")
    size: int = Field(ge=0, description="Size of the ZIP file in bytes.", examples=[48213])
    sha256: str = Field(description="SHA-256 of the ZIP file, hex.", pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(description="The file's name.", examples=["dsr_01hx3y-export.zip"])
    package_expires_at: datetime = Field(
        description="When the package itself is deleted (7 days after the request closed)."
    )


class FetchExportChunk(Query):
    """One chunk of an export package, authorised by a signed link token."""

    TYPE: ClassVar[str] = "privacy.fetch_export_chunk.v1"

    token: str = Field(min_length=1, max_length=512, description="The link's signed token.")
    index: int = Field(default=0, ge=0, description="Which chunk, from 0.")


class ExportChunk(Reply):
    """One chunk of an export package's ZIP file."""

    TYPE: ClassVar[str] = "privacy.export_chunk.v1"

    data: str = Field(description="Base64 of the chunk's bytes.")
    index: int = Field(ge=0)
    count: int = Field(ge=1, description="How many chunks the file has.")
    filename: str = Field(examples=["dsr_01hx3y-export.zip"])
    size: int = Field(ge=0, description="Size of the whole file in bytes.")
