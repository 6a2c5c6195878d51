"""Every API request is recorded after its response, without secrets, and shipped to the logs
service in batches (`gateway.api_requests_logged.v1`) by the servicekit record shipper: the
response never waits for the broker, and records dropped by a full buffer are counted in
`api_request_records_dropped_total`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import Counter

from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from gateway.api import PRINCIPAL
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.http import REQUEST_ID, route_of
from servicekit.logshipping import RecordShipper
from servicekit.settings import ServiceSettings

API_REQUEST_RECORDS_DROPPED = Counter(
    "api_request_records_dropped_total",
    "API request records not shipped to the logs service (buffer full, or not a valid record).",
)


def _batch_of(records: list[ApiRequestRecord]) -> ApiRequestsLogged:
    return ApiRequestsLogged(records=records)


CREDENTIAL_PARAMETER = "{token}"
"""A route whose path carries a credential (a signed download link): its record keeps the
route template instead of the path."""


class RequestLog:
    """Records each `/v1/` request into the shipper's bounded buffer, never blocking."""

    def __init__(self, bus: Bus, settings: ServiceSettings) -> None:
        self.shipper = RecordShipper(
            bus=bus,
            record_model=ApiRequestRecord,
            batch_of=_batch_of,
            dropped=API_REQUEST_RECORDS_DROPPED,
            capacity=settings.log_ship_buffer,
            interval_seconds=settings.log_ship_interval_seconds,
        )

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Time the request and buffer its record once the response is ready."""
        received_at = utcnow()
        started = time.perf_counter()
        response = await handler(request)
        if request.path.startswith("/v1/"):
            principal = request.get(PRINCIPAL)
            route = route_of(request)
            # A mapping, checked when its batch is built: validating the whole batch at once
            # costs less than building a model on every request.
            record = {
                "request_id": request.get(REQUEST_ID, ""),
                "partner_id": principal.partner_id if principal else None,
                "key_id": principal.key_id if principal else None,
                "method": request.method,
                "route": route,
                "path": route if CREDENTIAL_PARAMETER in route else request.path[:512],
                "status": response.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "ip": request.remote,
                "user_agent": request.headers.get("User-Agent", "")[:512] or None,
                "received_at": received_at,
                "request_bytes": request.content_length,
                "response_bytes": response.content_length,
            }
            self.shipper.offer(record)
        return response

    async def ship(self) -> None:
        """Ship the buffered records until cancelled (a background task of the service)."""
        await self.shipper.run()
