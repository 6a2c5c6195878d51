"""HTTP for every service: correlation ids, request metrics, and /healthz, /readyz, /metrics."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics import Counter, Histogram

from servicekit.correlation import bind_correlation_id
from servicekit.ids import new_id
from servicekit.metrics import HTTP_REQUESTS, HTTP_SECONDS

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]

SERVICE_NAME: web.AppKey[str] = web.AppKey("service_name", str)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
READINESS: web.AppKey[ReadinessCheck] = web.AppKey("readiness")
STOPPED_JOBS: web.AppKey[Callable[[], list[str]]] = web.AppKey("stopped_jobs")
"""The background jobs of the process that ended (they should run until it stops)."""


def route_of(request: web.Request) -> str:
    """The matched route template (never the raw path, which may hold ids), for metrics."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@functools.lru_cache(maxsize=4096)
def _request_metrics(
    service: str, method: str, route: str, status: int
) -> tuple[Counter, Histogram]:
    """The counter and histogram children of one kind of request (looked up once: a label
    lookup costs more than counting). Their number is bounded as the routes and statuses are."""
    return (
        HTTP_REQUESTS.labels(service, method, route, str(status)),
        HTTP_SECONDS.labels(service, method, route),
    )


@web.middleware
async def observe(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Bind a request id as the correlation id, echo it, and count the request."""
    presented = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = presented if _VALID_REQUEST_ID.match(presented) else new_id("req")
    structlog.contextvars.clear_contextvars()
    service = request.app[SERVICE_NAME]
    bind_correlation_id(request_id, service=service, request_id=request_id)
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as http_error:
        status = http_error.status
        http_error.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        requests, seconds = _request_metrics(service, request.method, route_of(request), status)
        requests.inc()
        seconds.observe(time.perf_counter() - started)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves HTTP and every background job it started still runs (a
    job that died, e.g. the outbox relay, fails the probe so the process is restarted)."""
    stopped = request.app[STOPPED_JOBS]() if STOPPED_JOBS in request.app else []
    if stopped:
        return web.json_response({"status": "failing", "stopped_jobs": stopped}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the bus and the store are reachable."""
    checks = await request.app[READINESS]()
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(_request: web.Request) -> web.Response:
    """Prometheus exposition of this process's metrics."""
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_ops_routes(app: web.Application) -> None:
    """Mount the ops endpoints every service serves."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
