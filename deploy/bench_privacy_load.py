"""The privacy benchmark's client: submits erasures over the bus and hears them close.

It is a stateless service of its own (`bench`) in the platform's namespace: it submits
`privacy.submit_request.v1` to the privacy service over request/reply, as the command line
and the gateway do, and its router takes `privacy.request_closed.v1`, which privacy publishes
when a request reaches a final state. An erasure's latency runs from sending the submit until
that event for its id arrives (no polling); it is an error unless the request ends
`completed`, or when the submit fails or the request does not close in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from contracts.privacy import (
    GetPrivacyRequest,
    PrivacyRequestClosed,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from servicekit.bus import Bus
from servicekit.errors import RemoteCallError
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings

CLIENT = "bench"
REQUESTED_BY = "bench"
SUBMIT_TIMEOUT_S = 300.0
CLOSE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Erasure:
    """One erasure as the client saw it."""

    email: str
    seconds: float
    """From sending the submit until it closed (or failed)."""
    request_id: str | None = None
    status: str | None = None
    error: str | None = None
    answered_s: float | None = None
    """From sending the submit until its answer arrived."""
    closed_at: datetime | None = None
    """When privacy closed it (its clock, from the closing event)."""

    @property
    def completed(self) -> bool:
        """Whether it closed `completed`."""
        return self.error is None and self.status == RequestStatus.COMPLETED.value


@dataclass(frozen=True)
class Closed:
    """A closing heard: when (this process's `perf_counter`), how, and privacy's `closed_at`."""

    heard: float
    status: str
    closed_at: datetime


class Closings:
    """Requests closed so far, heard from `privacy.request_closed.v1`: one future per id."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[Closed]] = {}

    def _future(self, request_id: str) -> asyncio.Future[Closed]:
        if request_id not in self._futures:
            self._futures[request_id] = asyncio.get_running_loop().create_future()
        return self._futures[request_id]

    async def on_closed(self, event: PrivacyRequestClosed, _context: MessageContext) -> None:
        """Note when (this process's clock) and how a request closed (the first time)."""
        future = self._future(event.request_id)
        if not future.done():
            future.set_result(Closed(time.perf_counter(), event.status.value, event.closed_at))

    async def wait(self, request_id: str, timeout: float) -> Closed:
        """When and how the request closed; TimeoutError if not within `timeout`."""
        return await asyncio.wait_for(asyncio.shield(self._future(request_id)), timeout)


class Client:
    """Submits erasures and times them to their closing."""

    def __init__(self, bus: Bus, closings: Closings) -> None:
        self.bus = bus
        self.closings = closings

    async def erase(self, email: str) -> Erasure:
        """Submit one erasure of the subject with this email; wait until it closes."""
        query = SubmitPrivacyRequest(
            channel=RequestChannel.OPS,
            requested_by=REQUESTED_BY,
            type=RequestType.ERASURE,
            subject=SubjectRef(email=email),
        )
        started = time.perf_counter()
        try:
            view = await self.bus.request(
                query, to="privacy", reply=PrivacyRequestView, timeout=SUBMIT_TIMEOUT_S
            )
        except RemoteCallError as failure:
            seconds = time.perf_counter() - started
            return Erasure(email, seconds, error=f"submit: {failure.code}: {failure}"[:200])
        answered = time.perf_counter() - started
        try:
            closed = await self.closings.wait(view.id, CLOSE_TIMEOUT_S)
        except TimeoutError:
            seconds = time.perf_counter() - started
            return Erasure(email, seconds, view.id, view.status.value, "did not close", answered)
        return Erasure(
            email,
            closed.heard - started,
            view.id,
            closed.status,
            answered_s=answered,
            closed_at=closed.closed_at,
        )

    async def views(self, erasures: list[Erasure]) -> list[PrivacyRequestView]:
        """The requests of the erasures that were opened, as privacy now has them."""
        return [
            await self.bus.request(
                GetPrivacyRequest(request_id=erasure.request_id),
                to="privacy",
                reply=PrivacyRequestView,
                timeout=SUBMIT_TIMEOUT_S,
            )
            for erasure in erasures
            if erasure.request_id is not None
        ]

    async def one_at_a_time(self, emails: list[str]) -> list[Erasure]:
        """Each erasure submitted once the one before it closed."""
        return [await self.erase(email) for email in emails]

    async def at_once(self, emails: list[str]) -> tuple[list[Erasure], float]:
        """Every erasure submitted at once; them, and the seconds until the last closed."""
        started = time.perf_counter()
        erasures = await asyncio.gather(*(self.erase(email) for email in emails))
        return list(erasures), time.perf_counter() - started


@asynccontextmanager
async def running_client(amqp_url: str, mongo_url: str, namespace: str) -> AsyncIterator[Client]:
    """The bench's client service, running (its queue bound to the closing event)."""
    settings = ServiceSettings.model_validate(
        {
            "amqp_url": amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": namespace,
            "log_level": "warning",
            "log_format": "json",
            "log_ship_level": "error",
            "prefetch": 256,
        }
    )
    service = Service.create(CLIENT, settings, stateless=True)
    closings = Closings()
    service.router.on(PrivacyRequestClosed, closings.on_closed)
    runner = web.AppRunner(service.http_app())
    await runner.setup()
    try:
        yield Client(service.bus, closings)
    finally:
        await runner.cleanup()
