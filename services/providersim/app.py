"""The simulator's aiohttp app: the provider API, its faults, the admin API, health."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from providersim import admin, api
from providersim.callbacks import CallbackSender
from providersim.runtime import FAULTS, RECEIVED, SENDER, STATE, Faults
from providersim.settings import SimulatorSettings
from providersim.state import ProviderState, SimError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal becomes a JSON answer with a stable code."""
    try:
        return await handler(request)
    except SimError as refusal:
        return web.json_response(
            {"error": refusal.code, "message": refusal.message}, status=refusal.status
        )


def _as_received(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


@web.middleware
async def provider_behaviour(request: web.Request, handler: Handler) -> web.StreamResponse:
    """On the provider API: keep what was sent, take time, and fail or hang at the set rates.

    A hung request is processed first and only its answer is held back: a real provider
    whose answer is lost has still acted, which is what idempotency keys are for.
    """
    if not request.path.startswith("/v1/"):
        return await handler(request)
    raw = await request.read()
    request.app[RECEIVED].append(
        {"method": request.method, "path": request.path, "body": _as_received(raw)}
    )
    faults = request.app[FAULTS]
    await faults.delay()
    if faults.fails():
        return web.json_response(
            {"error": "unavailable", "message": "simulated outage"}, status=503
        )
    hangs = faults.hangs()
    response = await handler(request)
    if hangs:
        await asyncio.sleep(faults.hang_seconds)
    return response


async def healthz(_request: web.Request) -> web.Response:
    """Liveness and readiness: the simulator serves HTTP."""
    return web.json_response({"status": "ok"})


def create_app(settings: SimulatorSettings) -> web.Application:
    """The simulated provider, configured by `settings`."""
    app = web.Application(middlewares=[errors, provider_behaviour])
    app[STATE] = ProviderState.with_pool(
        settings.iccid_prefix, settings.pool_size, settings.smdp_address
    )
    app[FAULTS] = Faults(
        latency_min_ms=settings.latency_min_ms,
        latency_max_ms=settings.latency_max_ms,
        failure_rate=settings.failure_rate,
        timeout_rate=settings.timeout_rate,
        hang_seconds=settings.hang_seconds,
        rng=random.Random(settings.seed),
    )
    secret = settings.callback_secret
    app[SENDER] = CallbackSender(
        url=settings.callback_url,
        secret=secret.get_secret_value() if secret is not None else None,
        retry_delays_ms=settings.callback_retry_delays_ms,
        timeout_seconds=settings.callback_timeout_seconds,
    )
    app[RECEIVED] = []
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", healthz)
    api.add_routes(app)
    admin.add_routes(app)
    return app
