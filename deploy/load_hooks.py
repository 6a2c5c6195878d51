"""The load's end users and its webhook receiver.

Every order is for a new end user (an email of its own). When the order's `order.completed`
webhook arrives, its end user becomes available to data-subject requests: every second one
to an erasure (each erased once), the others to access requests and to the reads of one
order or one eSIM, so no read ever asks for what an erasure is removing.

The receiver is an aiohttp app in the load's process on a free loopback port, subscribed (as
the partner, through the API) to `order.completed` and `order.failed`. It verifies every
delivery with the `standardwebhooks` library and the endpoint's secret, answers 204, and
times it from the order's `completed_at` (the platform's clock; one machine) to its arrival.
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from devstack.net import free_port
from standardwebhooks import Webhook, WebhookVerificationError

HOOK_PATH = "/hooks"
EVENT_TYPES = ["order.completed", "order.failed"]


@dataclass(frozen=True)
class Ordered:
    """An order of the load whose webhook arrived: its id, end user and eSIMs."""

    order_id: str
    email: str
    iccids: tuple[str, ...]


class Subjects:
    """The load's end users: new ones for orders, known ones for requests and reads."""

    def __init__(self, run: str, seed: int = 1) -> None:
        self.run = run
        self.random = random.Random(seed)
        self._count = 0
        self._completed = 0
        self._emails: dict[str, str] = {}
        self._erasable: deque[Ordered] = deque()
        self._kept: list[Ordered] = []

    def new_email(self) -> str:
        """The email of a new end user."""
        self._count += 1
        return f"user{self._count:06d}.{self.run}@load.example"

    def ordered(self, order_id: str, email: str) -> None:
        """An order was accepted for this end user."""
        self._emails[order_id] = email

    def completed(self, order_id: str, iccids: list[str]) -> None:
        """The order's completion was delivered: its end user is available (once)."""
        email = self._emails.pop(order_id, None)
        if email is None:
            return
        done = Ordered(order_id, email, tuple(iccids))
        self._completed += 1
        if self._completed % 2:
            self._erasable.append(done)
        else:
            self._kept.append(done)

    def for_request(self, kind: str) -> str | None:
        """An end user for an `erasure` (never the same twice) or an `access` request; None
        while none is available."""
        if kind == "erasure":
            return self._erasable.popleft().email if self._erasable else None
        return self.random.choice(self._kept).email if self._kept else None

    def kept_order(self) -> Ordered | None:
        """A completed order whose end user is never erased (None before the first)."""
        return self.random.choice(self._kept) if self._kept else None


@dataclass
class Delivery:
    """One order's webhook as it arrived (the first time)."""

    event_type: str
    seconds: float
    """From the order's outcome (platform's clock) until it arrived."""


@dataclass
class Receiver:
    """The partner's endpoint: verifies, notes, answers 204."""

    subjects: Subjects
    secret: str = ""
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    """Order id → its first delivery."""
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    """Why deliveries were refused (they are errors)."""

    async def handle(self, request: web.Request) -> web.Response:
        """One delivery."""
        body = await request.text()
        try:
            Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as failure:
            self.rejected.append(f"signature: {failure}"[:200])
            return web.Response(status=400)
        self.note(json.loads(body), time.time())
        return web.Response(status=204)

    def note(self, message: dict[str, Any], arrived: float) -> None:
        """Record a verified delivery's order outcome."""
        data = message["data"]
        order_id = data["order_id"]
        if order_id in self.deliveries:
            self.duplicates += 1
            return
        at = data.get("completed_at") or data.get("failed_at")
        seconds = arrived - datetime.fromisoformat(at).timestamp()
        self.deliveries[order_id] = Delivery(message["type"], seconds)
        if message["type"] == "order.completed":
            self.subjects.completed(order_id, data.get("iccids", []))
        else:
            self.rejected.append(f"order {order_id} failed: {data.get('reason')}")


class ReceiverServer:
    """The receiver's HTTP server on a free loopback port; use it as an async context."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.port = free_port()
        app = web.Application()
        app.router.add_post(HOOK_PATH, receiver.handle)
        self.runner = web.AppRunner(app, access_log=None)

    @property
    def url(self) -> str:
        """Where the platform delivers."""
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    async def __aenter__(self) -> ReceiverServer:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.runner.cleanup()


async def subscribe(session: aiohttp.ClientSession, url: str) -> str:
    """Create the partner's webhook endpoint to `url` through the API; its secret."""
    body = {"url": url, "event_types": EVENT_TYPES}
    async with session.post("/v1/webhook-endpoints", json=body) as response:
        answer = await response.json(content_type=None)
        if response.status != 201:
            raise RuntimeError(f"creating the webhook endpoint: {response.status} {answer}")
    return str(answer["secret"])
