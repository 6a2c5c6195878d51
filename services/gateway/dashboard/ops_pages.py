"""The ops pages under `/dashboard/ops` (platform roles only, see `ops_access`): service
health, queue depths, and each service's dead letters with their replay.

They live in the dashboard's sub-app so the session cookie (Path=/dashboard) reaches them.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.dashboard import csrf, ops_requests
from gateway.dashboard.charts import Bar, bar_chart
from gateway.dashboard.forms import text
from gateway.dashboard.ops_access import may_replay, ops_viewer, replayer
from gateway.dashboard.ops_queues import (
    BROKER,
    SHOWN_DEAD_LETTERS,
    WATCHED_SERVICES,
    Broker,
    depth_bars,
    health_of,
)
from gateway.dashboard.rendering import PageError, render
from servicekit.bus import Bus
from servicekit.dead_letters import DeadLetterQueueMissing
from servicekit.settings import ServiceSettings

OPS_PATH = "/dashboard/ops"
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
MESSAGE_ID_MAX = 128


def add_routes(dashboard: web.Application, bus: Bus, settings: ServiceSettings) -> None:
    """The ops pages' routes, and their way to the broker."""
    dashboard[BROKER] = Broker.of(bus, settings)
    routes = dashboard.router
    routes.add_get("/ops", health)
    routes.add_get("/ops/queues", queues)
    routes.add_get("/ops/dead-letters/{service}", dead_letters)
    routes.add_post("/ops/dead-letters/{service}/replay", replay)
    routes.add_get("/ops/requests", ops_requests.requests_page)


def _services(request: web.Request) -> list[str]:
    """The platform's services, and any other named with `?service=` (a valid name)."""
    extra = [name for name in request.query.getall("service", []) if SERVICE_NAME.match(name)]
    return list(dict.fromkeys([*WATCHED_SERVICES, *extra]))


async def health(request: web.Request) -> web.StreamResponse:
    """Which services answer: a consumer on a service's queues means it runs."""
    ops_viewer(request)
    broker = request.config_dict[BROKER]
    depths = await broker.depths(_services(request))
    services = [health_of(name, depths) for name in _services(request)]
    chart = bar_chart(
        [Bar(s.service, s.consumers, "good" if s.health == "up" else "alert") for s in services],
        title="Consumers per service",
    )
    context = {"services": services, "chart": chart, "bus_connected": broker.bus.is_connected}
    return render(request, "ops_health.html", context)


async def queues(request: web.Request) -> web.StreamResponse:
    """Every queue of every service: messages ready and consumers."""
    ops_viewer(request)
    depths = await request.config_dict[BROKER].depths(_services(request))
    chart = bar_chart(depth_bars(depths), title="Messages ready per queue")
    return render(request, "ops_queues.html", {"depths": depths, "chart": chart})


def _service(request: web.Request) -> str:
    service = request.match_info["service"]
    if not SERVICE_NAME.match(service):
        raise PageError(404, "Not found", "No such service.")
    return service


async def dead_letters(request: web.Request) -> web.StreamResponse:
    """A service's dead letters, metadata only, with the replay forms (for the ops role)."""
    viewer = ops_viewer(request)
    service = _service(request)
    try:
        letters = await request.config_dict[BROKER].dead_letters(service)
    except DeadLetterQueueMissing:
        raise PageError(404, "Not found", f"{service} has no dead-letter queue.") from None
    context = {
        "service": service,
        "letters": letters,
        "shown_max": SHOWN_DEAD_LETTERS,
        "may_replay": may_replay(viewer),
    }
    return render(request, "ops_dead_letters.html", context)


async def replay(request: web.Request) -> web.StreamResponse:
    """Replay one dead letter (`message_id`) or all (`all`); the report is shown once."""
    form = await request.post()
    csrf.verify(request, form)
    replayer(request)
    service = _service(request)
    message_id = text(form, "message_id").strip()
    if not message_id and text(form, "all") != "yes":
        raise PageError(422, "Nothing to replay", "Choose a dead letter, or all of them.")
    if len(message_id) > MESSAGE_ID_MAX:
        raise PageError(422, "Nothing to replay", "That is no message id.")
    try:
        report = await request.config_dict[BROKER].replay(
            service, [message_id] if message_id else None
        )
    except DeadLetterQueueMissing:
        raise PageError(404, "Not found", f"{service} has no dead-letter queue.") from None
    return render(request, "ops_replayed.html", {"service": service, "report": report})
