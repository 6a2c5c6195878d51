"""The provider's API (`/v1`): allocate profiles, top them up, read their status."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providersim.runtime import STATE
from providersim.state import SimError

PACKAGE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{8,128}$"
_ICCID = re.compile(r"^89[0-9]{17,18}$")


class AllocateRequest(BaseModel):
    """`POST /v1/profiles`: a package code, how many profiles, and an idempotency key."""

    model_config = ConfigDict(extra="forbid")

    package_code: str = Field(pattern=PACKAGE_CODE)
    quantity: int = Field(ge=1, le=100)
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


class TopupRequest(BaseModel):
    """`POST /v1/profiles/{iccid}/topups`: a package code and an idempotency key."""

    model_config = ConfigDict(extra="forbid")

    package_code: str = Field(pattern=PACKAGE_CODE)
    idempotency_key: str = Field(pattern=IDEMPOTENCY_KEY)


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as invalid:
        fields = sorted({".".join(map(str, e["loc"])) for e in invalid.errors()})
        raise SimError(400, "invalid_request", f"invalid: {', '.join(fields)}") from None


def _iccid(request: web.Request) -> str:
    iccid = request.match_info["iccid"]
    if not _ICCID.match(iccid):
        raise SimError(404, "unknown_profile", "no profile with this ICCID")
    return iccid


async def allocate(request: web.Request) -> web.Response:
    """Allocate profiles from the pool; the same key answers the same profiles again."""
    asked: AllocateRequest = await _body(request, AllocateRequest)
    answer = request.app[STATE].allocate(asked.idempotency_key, asked.package_code, asked.quantity)
    return web.json_response(answer, status=201)


async def topup(request: web.Request) -> web.Response:
    """Add a package's data to a profile; the same key tops up once."""
    asked: TopupRequest = await _body(request, TopupRequest)
    iccid = _iccid(request)
    answer = request.app[STATE].topup(asked.idempotency_key, iccid, asked.package_code)
    return web.json_response(answer, status=201)


async def status(request: web.Request) -> web.Response:
    """A profile's state and data usage."""
    return web.json_response(request.app[STATE].profile(_iccid(request)).view())


def add_routes(app: web.Application) -> None:
    """The public API."""
    app.router.add_post("/v1/profiles", allocate)
    app.router.add_post("/v1/profiles/{iccid}/topups", topup)
    app.router.add_get("/v1/profiles/{iccid}", status)
