"""The simulator's admin API (`/_sim`): what it received, fault settings, callbacks on demand."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providersim.runtime import FAULTS, RECEIVED, SENDER, STATE
from providersim.state import SimError


class ConfigChange(BaseModel):
    """`POST /_sim/config`: any of the fault settings to change."""

    model_config = ConfigDict(extra="forbid")

    failure_rate: float | None = Field(default=None, ge=0, le=1)
    timeout_rate: float | None = Field(default=None, ge=0, le=1)
    latency_min_ms: int | None = Field(default=None, ge=0)
    latency_max_ms: int | None = Field(default=None, ge=0)


class UsageReport(BaseModel):
    """`POST /_sim/profiles/{iccid}/usage`: the profile's total data used so far."""

    model_config = ConfigDict(extra="forbid")

    used_bytes: int = Field(ge=0)


async def _parsed(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.read() or b"{}")
    except ValidationError:
        raise SimError(400, "invalid_request", f"expected {model.__name__}") from None


async def received(request: web.Request) -> web.Response:
    """Every request the provider API received: method, path and body."""
    return web.json_response({"requests": request.app[RECEIVED]})


async def pool(request: web.Request) -> web.Response:
    """How many ICCIDs are still free and how many profiles were issued."""
    state = request.app[STATE]
    return web.json_response({"free": len(state.free), "issued": len(state.profiles)})


async def configure(request: web.Request) -> web.Response:
    """Change latency and fault rates while running."""
    change: ConfigChange = await _parsed(request, ConfigChange)
    faults = request.app[FAULTS]
    for name, value in change.model_dump(exclude_none=True).items():
        setattr(faults, name, value)
    if faults.latency_max_ms < faults.latency_min_ms:
        faults.latency_max_ms = faults.latency_min_ms
    return web.json_response(faults.view())


async def callbacks(request: web.Request) -> web.Response:
    """Every callback sent so far, with its attempts."""
    return web.json_response({"callbacks": [d.view() for d in request.app[SENDER].deliveries]})


async def _send(request: web.Request, event_type: str, data: dict[str, Any]) -> web.Response:
    delivery = await request.app[SENDER].send(event_type, request.match_info["iccid"], data)
    return web.json_response(delivery.view(), status=200 if delivery.delivered else 502)


async def install(request: web.Request) -> web.Response:
    """The end user installed the profile: mark it and call back."""
    profile = request.app[STATE].profile(request.match_info["iccid"])
    profile.status = "installed"
    return await _send(request, "profile.installed", {"smdp_address": profile.smdp_address})


async def usage(request: web.Request) -> web.Response:
    """The network measured data use: record it and call back."""
    report: UsageReport = await _parsed(request, UsageReport)
    profile = request.app[STATE].profile(request.match_info["iccid"])
    profile.used_bytes = report.used_bytes
    view = profile.view()
    measured = {key: view[key] for key in ("data_used_bytes", "data_remaining_bytes")}
    return await _send(request, "usage.updated", measured)


async def expire(request: web.Request) -> web.Response:
    """The profile's validity ended: mark it and call back."""
    profile = request.app[STATE].profile(request.match_info["iccid"])
    profile.status = "expired"
    return await _send(request, "profile.expired", {})


def add_routes(app: web.Application) -> None:
    """The admin API, for tests and the dev stack."""
    app.router.add_get("/_sim/received", received)
    app.router.add_get("/_sim/pool", pool)
    app.router.add_post("/_sim/config", configure)
    app.router.add_get("/_sim/callbacks", callbacks)
    app.router.add_post("/_sim/profiles/{iccid}/install", install)
    app.router.add_post("/_sim/profiles/{iccid}/usage", usage)
    app.router.add_post("/_sim/profiles/{iccid}/expire", expire)
