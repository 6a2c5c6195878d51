"""The eSIM routes (`esims:read`): list the partner's eSIMs, get one with its activation code,
and its QR code as PNG or SVG.

The activation code is a credential: the QR code is rendered here, in memory, from the code
provisioning returns to the owning partner only, and is never logged or stored.
"""

from __future__ import annotations

import io
import re
from typing import Literal

import segno
from pydantic import Field

from contracts.accounts import Scope
from contracts.orders import EsimPage, EsimStatus, EsimView, GetEsim, ListEsims, OrderRef
from contracts.provider import ICCID_PATTERN
from gateway.api import Call, Download, Endpoint
from gateway.handlers import actor_of
from gateway.problems import ApiError
from gateway.schemas import ApiModel
from servicekit.bus import Bus

TO = "provisioning"
PNG = "image/png"
SVG = "image/svg+xml"
QR_SCALE = 8
"""Pixels per QR module: a 300-400 px image, easy to scan from a screen or on paper."""
QR_ERROR = "m"
"""Error correction level M (15 %), a common choice for printed and on-screen codes."""

_ICCID = re.compile(ICCID_PATTERN)


class EsimsQuery(ApiModel):
    """Filters (optional, combined) and cursor pagination of the partner's eSIMs."""

    order_id: OrderRef | None = Field(default=None, description="Only the eSIMs of this order.")
    status: EsimStatus | None = Field(default=None, description="Only eSIMs in this status.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(
        default=None, max_length=64, description="`next_cursor` of the previous page."
    )


class QrQuery(ApiModel):
    """The image format of the QR code."""

    format: Literal["png", "svg"] = Field(default="png", description="`png` or `svg`.")


def qr_image(activation_code: str, image_format: Literal["png", "svg"]) -> bytes:
    """The QR code of an activation code as a PNG or SVG file."""
    code = segno.make(activation_code, error=QR_ERROR, micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=image_format, scale=QR_SCALE, border=4)
    return buffer.getvalue()


def _iccid(call: Call) -> str:
    iccid = call.path["iccid"]
    if not _ICCID.match(iccid):
        raise ApiError(404, "not_found", "Not found", "no eSIM has this ICCID")
    return iccid


class EsimHandlers:
    """Endpoint functions of `/v1/esims`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def list_esims(self, call: Call) -> EsimPage:
        """The partner's eSIMs, newest first, without activation codes."""
        asked: EsimsQuery = call.query
        query = ListEsims(
            actor=actor_of(call),
            partner_id=call.principal.partner_id,
            order_id=asked.order_id,
            status=asked.status,
            limit=asked.limit,
            cursor=asked.cursor,
        )
        return await self.bus.request(query, to=TO, reply=EsimPage, timeout=self.timeout)

    async def get_esim(self, call: Call) -> EsimView:
        """One of the partner's eSIMs with its activation code."""
        query = GetEsim(
            actor=actor_of(call), partner_id=call.principal.partner_id, iccid=_iccid(call)
        )
        return await self.bus.request(query, to=TO, reply=EsimView, timeout=self.timeout)

    async def get_qr_code(self, call: Call) -> Download:
        """The eSIM's activation code as a QR code image."""
        asked: QrQuery = call.query
        esim = await self.get_esim(call)
        if esim.activation_code is None:
            raise ApiError(
                404, "not_found", "Not found", "this eSIM has no activation code any more"
            )
        image = qr_image(esim.activation_code, asked.format)
        content_type = PNG if asked.format == "png" else SVG
        return Download(
            body=image, content_type=content_type, filename=f"{esim.iccid}.{asked.format}"
        )


def esim_endpoints(handlers: EsimHandlers) -> list[Endpoint]:
    """The partner's eSIM profiles: all need `esims:read`."""
    return [
        Endpoint(
            "GET",
            "/v1/esims",
            "listEsims",
            "List your eSIMs",
            handlers.list_esims,
            EsimPage,
            scope=Scope.ESIMS_READ,
            query=EsimsQuery,
            tags=["esims"],
            description="Newest first, filtered by `order_id` and `status` (optional, combined)."
            " Pages follow `next_cursor` (null on the last page). Listings never carry"
            " activation codes: get one eSIM for its code.",
        ),
        Endpoint(
            "GET",
            "/v1/esims/{iccid}",
            "getEsim",
            "Get an eSIM with its activation code",
            handlers.get_esim,
            EsimView,
            scope=Scope.ESIMS_READ,
            tags=["esims"],
            description="Status, usage and validity, and the activation fields: the SM-DP+"
            " address, the matching id and the LPA activation code"
            " (`LPA:1$<SM-DP+ address>$<matching id>`). The activation code is a credential:"
            " show it only to the end user it is for.",
        ),
        Endpoint(
            "GET",
            "/v1/esims/{iccid}/qr",
            "getEsimQrCode",
            "Get an eSIM's activation code as a QR code",
            handlers.get_qr_code,
            EsimView,
            scope=Scope.ESIMS_READ,
            query=QrQuery,
            tags=["esims"],
            description="The LPA activation code as a QR code a device scans, as a PNG"
            " (`format=png`, the default) or SVG (`format=svg`) image; never JSON. It is a"
            " credential: do not cache or share it.",
            downloads=(PNG, SVG),
            json=False,
        ),
    ]
