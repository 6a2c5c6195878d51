"""Signed callbacks to provisioning (Standard Webhooks), retried on a small bounded schedule."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog
from standardwebhooks import Webhook

log = structlog.get_logger("providersim.callbacks")

CALLBACK_TYPES = ("profile.installed", "usage.updated", "profile.expired")


@dataclass
class Delivery:
    """One callback and what happened to each attempt to deliver it."""

    webhook_id: str
    type: str
    iccid: str
    attempts: list[str] = field(default_factory=list)
    delivered: bool = False

    def view(self) -> dict[str, Any]:
        """The delivery as the admin API shows it."""
        return {
            "webhook_id": self.webhook_id,
            "type": self.type,
            "iccid": self.iccid,
            "attempts": self.attempts,
            "delivered": self.delivered,
        }


def signed_headers(secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers that sign `body` as sent at `at`."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


class CallbackSender:
    """Posts signed callbacks to one URL and keeps a log of every delivery."""

    def __init__(
        self, *, url: str, secret: str | None, retry_delays_ms: list[int], timeout_seconds: float
    ) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays_ms = retry_delays_ms
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.deliveries: list[Delivery] = []

    async def send(self, event_type: str, iccid: str, data: dict[str, Any]) -> Delivery:
        """Deliver one callback: the first attempt, then one retry per configured delay."""
        if self.secret is None:
            raise RuntimeError("no callback secret configured (PROVIDER_CALLBACK_SECRET)")
        delivery = Delivery(webhook_id=f"wh_{secrets.token_hex(12)}", type=event_type, iccid=iccid)
        self.deliveries.append(delivery)
        occurred_at = datetime.now(UTC).isoformat()
        body = json.dumps(
            {"type": event_type, "iccid": iccid, "occurred_at": occurred_at, "data": data}
        )
        delays = [0, *self.retry_delays_ms]
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            for delay_ms in delays:
                await asyncio.sleep(delay_ms / 1000)
                if await self._attempt(session, delivery, body, self.secret):
                    delivery.delivered = True
                    break
        log.info("callback_sent", type=event_type, delivered=delivery.delivered)
        return delivery

    async def _attempt(
        self, session: aiohttp.ClientSession, delivery: Delivery, body: str, secret: str
    ) -> bool:
        headers = signed_headers(secret, delivery.webhook_id, body, datetime.now(UTC))
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                delivery.attempts.append(str(response.status))
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError) as failure:
            delivery.attempts.append(type(failure).__name__)
            return False
