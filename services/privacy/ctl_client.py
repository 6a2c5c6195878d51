"""How `privacyctl` talks to the running privacy service: request/reply over the bus, as the
service's other clients do; more than one call for `list --all` and `show --watch`."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contracts.base import Contract
from contracts.privacy import FINAL_STATUSES, ListPrivacyRequests, PrivacyRequestPage
from contracts.privacy import PrivacyRequestView as View
from privacy.ctl_output import Output
from privacy.settings import PrivacySettings
from servicekit.bus import Bus
from servicekit.topology import Topology

POLL_SECONDS = 0.5
"""How often a watched request is fetched again."""


@dataclass
class Call:
    """What one command line asks of the privacy service."""

    command: str
    query: Contract
    arguments: argparse.Namespace


class Privacy:
    """A bus connection to the privacy service, as the command line's client."""

    def __init__(self, settings: PrivacySettings) -> None:
        self.settings = settings
        self.bus = Bus(
            url=settings.amqp_url, topology=Topology(settings.bus_namespace), service="cli"
        )

    async def ask(self, query: Contract) -> View:
        """One request/reply answered by a request's view."""
        return await self.bus.request(
            query,
            to="privacy",
            reply=View,
            timeout=self.settings.query_timeout_seconds,
        )

    async def page(self, query: ListPrivacyRequests) -> PrivacyRequestPage:
        """One request/reply answered by a page of requests."""
        return await self.bus.request(
            query,
            to="privacy",
            reply=PrivacyRequestPage,
            timeout=self.settings.query_timeout_seconds,
        )


async def perform(call: Call, settings: PrivacySettings, output: Output) -> int:
    """Send the call's query (more, for `list --all` and `show --watch`) and print the answer."""
    privacy = Privacy(settings)
    query = call.query
    try:
        await privacy.bus.connect()
        if isinstance(query, ListPrivacyRequests):
            return await list_requests(privacy.page, query, call.arguments.all, output)
        if call.command == "show" and call.arguments.watch:
            return await watch(lambda: privacy.ask(query), output, call.arguments.timeout)
        output.request(await privacy.ask(query))
        return 0
    finally:
        await privacy.bus.close()


async def watch(fetch: Callable[[], Awaitable[View]], output: Output, timeout: float) -> int:
    """Show the request as it progresses until it reaches a final state (exit 0), or until
    `timeout` seconds have passed (exit 1)."""
    deadline = time.monotonic() + timeout
    previous: View | None = None
    with output.watching() as redraw:
        while True:
            view = await fetch()
            redraw(previous, view)
            previous = view
            if view.status in FINAL_STATUSES:
                return 0
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
    output.error(f"{view.id} is still {view.status.value} after {timeout:g} s")
    return 1


async def list_requests(
    fetch: Callable[[ListPrivacyRequests], Awaitable[PrivacyRequestPage]],
    first: ListPrivacyRequests,
    every_page: bool,
    output: Output,
) -> int:
    """One page of requests, or every page (following the cursor) with `every_page`."""
    page = await fetch(first)
    views = list(page.data)
    while every_page and page.next_cursor is not None:
        page = await fetch(first.model_copy(update={"cursor": page.next_cursor}))
        views += page.data
    output.requests(views, page.next_cursor)
    return 0
