"""Every API request is published to the logs service after its response, without secrets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web

from contracts.gateway import ApiRequestLogged
from gateway.api import PRINCIPAL
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.http import REQUEST_ID, route_of

log = structlog.get_logger("gateway.requestlog")


class RequestLog:
    """Publishes request records in the background so responses never wait for the broker."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._pending: set[asyncio.Task[None]] = set()

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Time the request and publish its record once the response is ready."""
        received_at = utcnow()
        started = time.perf_counter()
        response = await handler(request)
        if request.path.startswith("/v1/"):
            principal = request.get(PRINCIPAL)
            record = ApiRequestLogged(
                request_id=request.get(REQUEST_ID, ""),
                partner_id=principal.partner_id if principal else None,
                key_id=principal.key_id if principal else None,
                method=request.method,
                route=route_of(request),
                path=request.path[:512],
                status=response.status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                ip=request.remote,
                user_agent=request.headers.get("User-Agent", "")[:512] or None,
                received_at=received_at,
                request_bytes=request.content_length,
                response_bytes=response.content_length,
            )
            task = asyncio.create_task(self._publish(record))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return response

    async def _publish(self, record: ApiRequestLogged) -> None:
        try:
            await self.bus.publish(record, correlation_id=record.request_id)
        except Exception as failure:
            log.warning("request_log_not_published", error=repr(failure))

    async def drain(self, _app: web.Application) -> AsyncIterator[None]:
        """On shutdown, wait (bounded) for records still being published."""
        yield
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
