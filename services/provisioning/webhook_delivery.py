"""The delivery worker: claims due deliveries, signs and POSTs them, records each attempt.

A claim is one conditional write: a due delivery's `next.at` moves forward by the lease, so
no other worker (or replica) picks it until the lease runs out (a crashed worker's delivery
is picked again then). Every attempt carries the same `webhook-id` with a fresh timestamp and
signature. After the last retry of the published schedule a delivery is `exhausted`; that
many consecutive exhausted deliveries disable the endpoint, with an event to tell the partner.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from prometheus_client import Counter
from pymongo import ReturnDocument
from standardwebhooks import Webhook

from contracts.webhooks import WebhookEndpointDisabled
from provisioning.settings import ProvisioningSettings
from provisioning.webhook_store import ATTEMPTS, DELIVERIES, ENDPOINTS, Document
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.outbox import add_outbox
from servicekit.service import Service

if TYPE_CHECKING:
    from collections.abc import Callable

    from provisioning.webhooks import Webhooks

log = structlog.get_logger("provisioning.webhooks")

DUE = ["pending", "failed"]
WEBHOOK_DELIVERIES = Counter(
    "webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, failed (retried later), exhausted.",
    ["service", "outcome"],
)
USER_AGENT = "esim-platform-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """How one attempt went."""

    code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.code is not None and 200 <= self.code < 300

    def as_document(self) -> Document:
        """The attempt's outcome as stored (absent fields omitted, never null)."""
        stored: Document = {"latency_ms": self.latency_ms}
        if self.code is not None:
            stored["code"] = self.code
        if self.error is not None:
            stored["error"] = self.error
        return stored


class DeliveryWorker:
    """Sends due deliveries until cancelled; `kick` wakes it when one is queued."""

    def __init__(
        self,
        service: Service,
        settings: ProvisioningSettings,
        webhooks: Webhooks,
        clock: Callable[[], datetime],
    ) -> None:
        self.service = service
        self.db = service.db
        self.settings = settings
        self.webhooks = webhooks
        self.delays = [timedelta(milliseconds=ms) for ms in settings.webhook_retry_delays_ms]
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self._wake = asyncio.Event()
        service.report_counter(WEBHOOK_DELIVERIES)

    def kick(self) -> None:
        """Look for due work now."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever: after every kick, and every poll interval."""
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._next_wait()):
                        await self._wake.wait()
                self._wake.clear()
                try:
                    while await self.deliver_once(session):
                        pass
                except Exception as failure:
                    log.warning("webhook_worker_failed", error=type(failure).__name__)

    def _next_wait(self) -> float:
        shortest = min(self.delays).total_seconds() if self.delays else 1.0
        return min(self.settings.webhook_poll_seconds, max(shortest, 0.01))

    async def deliver_once(self, session: aiohttp.ClientSession) -> bool:
        """Claim one due delivery and attempt it; whether there was one."""
        now = self.webhooks.now()
        token = new_id("lease")
        claimed = await self.db[DELIVERIES].find_one_and_update(
            {"status": {"$in": DUE}, "next.at": {"$lte": now}},
            {"$set": {"next": {"at": now + self.lease}, "lease": {"token": token}}},
            return_document=ReturnDocument.AFTER,
        )
        if claimed is None:
            return False
        endpoint = await self.db[ENDPOINTS].find_one({"_id": claimed["endpoint_id"]})
        gone = _why_not_sent(claimed, endpoint)
        if gone is not None:
            await self._finish(claimed, token, "exhausted", Outcome(None, 0, gone), now)
            return True
        assert endpoint is not None
        outcome = await self._attempt(session, claimed, endpoint)
        status = self._status_after(claimed, outcome)
        await self._record(claimed, outcome, now)
        WEBHOOK_DELIVERIES.labels(self.service.name, status).inc()
        await self._finish(claimed, token, status, outcome, now)
        if claimed["event_type"] != "webhook.test":
            await self._count(endpoint, status, now)
        return True

    async def _attempt(
        self, session: aiohttp.ClientSession, delivery: Document, endpoint: Document
    ) -> Outcome:
        started = time.monotonic()
        try:
            await self.webhooks.check_url(endpoint["url"], endpoint["mode"])
        except ServiceError:
            return Outcome(None, 0, "refused_address")
        headers = await self._headers(delivery, endpoint)
        try:
            async with session.post(
                endpoint["url"], data=delivery["payload"], headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                code: int | None = response.status
                error = None if 200 <= response.status < 300 else f"http_{response.status}"
        except TimeoutError:
            code, error = None, "timeout"
        except aiohttp.ClientError:
            code, error = None, "connection_error"
        return Outcome(code, int((time.monotonic() - started) * 1000), error)

    async def _headers(self, delivery: Document, endpoint: Document) -> dict[str, str]:
        """Standard Webhooks headers, signed now with the secret (and, during a rotation's
        overlap, the previous one too: several space-separated signatures)."""
        at = self.webhooks.now()
        secrets = [await self.webhooks.open_secret(endpoint, "secret")]
        previous = endpoint.get("previous")
        if previous is not None and previous["until"] > at:
            secrets.append(await self.webhooks.open_secret(endpoint, "previous"))
        signatures = [Webhook(s).sign(delivery["_id"], at, delivery["payload"]) for s in secrets]
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery["_id"],
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signatures),
        }

    def _status_after(self, delivery: Document, outcome: Outcome) -> str:
        if outcome.ok:
            return "delivered"
        return "exhausted" if delivery["attempts"] >= len(self.delays) else "failed"

    async def _record(self, delivery: Document, outcome: Outcome, now: datetime) -> None:
        await self.db[ATTEMPTS].insert_one(
            {
                "_id": new_id("wha"),
                "delivery_id": delivery["_id"],
                "partner_id": delivery["partner_id"],
                "number": delivery["attempts"] + 1,
                "at": now,
                **outcome.as_document(),
            }
        )

    async def _finish(
        self, delivery: Document, token: str, status: str, outcome: Outcome, now: datetime
    ) -> None:
        attempts = delivery["attempts"] + (0 if outcome.error in _NOT_SENT else 1)
        change: Document = {"status": status, "attempts": attempts, "last": outcome.as_document()}
        if status == "failed":
            change["next"] = {"at": now + self.delays[delivery["attempts"]]}
        await self.db[DELIVERIES].update_one(
            {"_id": delivery["_id"], "lease.token": token},
            {"$set": change, "$unset": {"lease": ""}},
        )

    async def _count(self, endpoint: Document, status: str, now: datetime) -> None:
        """Reset the endpoint's failure count on success; disable it after too many."""
        endpoints = self.db[ENDPOINTS]
        if status == "delivered":
            if endpoint.get("failures", 0):
                await endpoints.update_one({"_id": endpoint["_id"]}, {"$set": {"failures": 0}})
            return
        if status != "exhausted":
            return
        await endpoints.update_one({"_id": endpoint["_id"]}, {"$inc": {"failures": 1}})
        limit = self.settings.webhook_disable_after
        event = WebhookEndpointDisabled(
            partner_id=endpoint["partner_id"],
            endpoint_id=endpoint["_id"],
            consecutive_failures=limit,
            disabled_at=now,
        )
        change = {"$set": {"status": "disabled", "disabled": {"reason": "failing", "at": now}}}
        disabled: Any = await endpoints.find_one_and_update(
            {"_id": endpoint["_id"], "status": "enabled", "failures": {"$gte": limit}},
            add_outbox(change, self.service.bus.outgoing(event)),
        )
        if disabled is not None:
            log.info("webhook_endpoint_disabled", endpoint_id=endpoint["_id"])


_NOT_SENT = ("endpoint_deleted", "endpoint_disabled")


def _why_not_sent(delivery: Document, endpoint: Document | None) -> str | None:
    """Why a claimed delivery ends unsent: its endpoint is gone, or disabled (test-sends go
    to disabled endpoints too)."""
    if endpoint is None:
        return "endpoint_deleted"
    if endpoint["status"] != "enabled" and delivery["event_type"] != "webhook.test":
        return "endpoint_disabled"
    return None
