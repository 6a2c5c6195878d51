"""Helpers of the ops dashboard tests: a service whose handler fails until fixed (so that its
commands dead-letter), a stand-in privacy service answering `ListPrivacyRequests` from fixed
requests, and sample requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp.test_utils import TestServer
from yarl import URL

from contracts.privacy import (
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
)
from servicekit.messages import MessageContext
from servicekit.queue_depths import queue_depths
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from support.messages import CountThing
from support.services import running
from support.waiting import eventually

FLAKY = "alpha"


@dataclass
class FlakyService:
    """Counts CountThing commands; while `broken`, its handler always fails."""

    service: Service
    broken: bool = True
    handled: list[str] = field(default_factory=list)

    async def on_count(self, command: CountThing, _context: MessageContext) -> None:
        if self.broken:
            raise RuntimeError("broken on purpose")
        self.handled.append(command.key)

    async def dead_letters(self) -> int:
        """Messages ready in its DLQ."""
        settings = self.service.settings
        depths = await queue_depths(
            self.service.bus.connection, Topology(settings.bus_namespace), [FLAKY]
        )
        return next(d.messages or 0 for d in depths if d.kind == "dlq")

    async def dead_letter(self, key: str) -> None:
        """Send a command the broken handler fails on; wait until it is a dead letter."""
        before = await self.dead_letters()

        async def arrived() -> bool:
            return await self.dead_letters() > before

        await self.service.bus.publish(CountThing(key=key), to=FLAKY)
        await eventually(arrived, what=f"{key} dead-lettered")


@asynccontextmanager
async def running_flaky(settings: ServiceSettings) -> AsyncIterator[FlakyService]:
    """The flaky service, running (and broken) until the block ends."""
    flaky = FlakyService(Service.create(FLAKY, settings, stateless=True))
    flaky.service.router.on(CountThing, flaky.on_count)
    async with running(flaky.service):
        yield flaky


@dataclass
class PrivacyStandIn:
    """Answers ListPrivacyRequests like privacy does (newest first, by state and deadline,
    paged by id) from a fixed list."""

    requests: list[PrivacyRequestView]
    asked: list[ListPrivacyRequests] = field(default_factory=list)

    async def list(
        self, query: ListPrivacyRequests, _context: MessageContext
    ) -> PrivacyRequestPage:
        self.asked.append(query)
        found = sorted(self.requests, key=lambda r: r.id, reverse=True)
        if query.statuses:
            found = [r for r in found if r.status in query.statuses]
        if query.due_before is not None:
            found = [r for r in found if r.due_at < query.due_before]
        if query.cursor:
            found = [r for r in found if r.id < query.cursor]
        page = found[: query.limit]
        more = len(found) > query.limit
        return PrivacyRequestPage(data=page, next_cursor=page[-1].id if more else None)


def privacy_request(
    number: int, status: RequestStatus, now: datetime, due_in: timedelta
) -> PrivacyRequestView:
    """A request in `status`, due `due_in` from now."""
    return PrivacyRequestView(
        id=f"prq_{number:04d}",
        type=RequestType.ERASURE,
        channel=RequestChannel.PARTNER,
        status=status,
        created_at=now - timedelta(days=20),
        due_at=now + due_in,
        tasks=[],
    )


OPS_EMAIL = "otto.ops@ops.example.org"
SUPPORT_EMAIL = "sue.support@ops.example.org"
PARTNER_EMAIL = "pat.partner@ops.example.org"


@dataclass
class OpsWorld:
    """The running gateway, the flaky service and the privacy stand-in."""

    gateway: TestServer
    flaky: FlakyService
    privacy: PrivacyStandIn

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))
