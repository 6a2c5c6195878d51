"""An eSIM's life from the provider's callbacks, and the webhooks it causes.

- `provisioning.profile_installed.v1`: status `installed`; the first install sets
  `installation.at` and starts the validity (`validity.ends_at` = then + `validity_days`),
  and sends `esim.installed`.
- `provisioning.usage_updated.v1`: data used and left (never backwards: an older measurement
  arriving late changes nothing); crossing 80 % and 100 % of the data sends
  `esim.usage_threshold` once per threshold (and again after a top-up raised the total).
- `provisioning.profile_expired.v1`: status `expired`.
- Every `esim_validity_check_minutes`, `esim.validity_ending` for each eSIM whose validity
  ends within `esim_validity_warning_hours`, once per end (a top-up moves the end).

Each effect is a conditional single-document write, so a redelivered or concurrent copy of
an event changes nothing. A webhook is queued before its mark is written, under a source id
made of the ICCID and what happened, so a crash in between sends it on the next try and a
repeat queues nothing new. An unknown ICCID is logged (by callback id) and ignored.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from bson import Int64
from pydantic import BaseModel

from contracts.provider import ProfileExpired, ProfileInstalled, ProviderCallbackEvent, UsageUpdated
from contracts.webhooks import (
    EsimInstalledPayload,
    EsimUsageThresholdPayload,
    EsimValidityEndingPayload,
    WebhookEventType,
)
from provisioning.esim_store import Document, create_indexes, validity_of
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, Db
from provisioning.webhooks import Webhooks, enqueue_delivery
from servicekit.clock import Clock, utcnow
from servicekit.messages import MessageContext
from servicekit.service import Service

THRESHOLDS_PERCENT = (80, 100)
VALIDITY_BATCH = 500
"""The most eSIMs one validity check announces; the next check takes the rest."""
INSTALL_ATTEMPTS = 3
"""Tries of the first install when a top-up changes the validity days at the same moment."""

log = structlog.get_logger("provisioning.esims")


def to_millisecond(moment: datetime) -> datetime:
    """The time as the store keeps it (milliseconds), so what is sent equals what is stored."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def crossed_thresholds(esim: Document) -> list[int]:
    """The usage thresholds (percent of the data) the eSIM's use has reached; none when
    unlimited."""
    total = esim.get("data_total_bytes")
    if not total:
        return []
    used = esim["data_used_bytes"]
    return [percent for percent in THRESHOLDS_PERCENT if used * 100 >= percent * total]


class EsimEvents:
    """Applies the provider's events to the `esims` collection and queues the webhooks."""

    def __init__(
        self, db: Db, webhooks: Webhooks, settings: ProvisioningSettings, clock: Clock
    ) -> None:
        self.db = db
        self.webhooks = webhooks
        self.settings = settings
        self.clock = clock

    async def on_installed(self, event: ProfileInstalled, _context: MessageContext) -> None:
        """Mark the eSIM installed; the first install starts its validity."""
        esim = await self._known(event)
        for _ in range(INSTALL_ATTEMPTS):
            if esim is None or "installation" in esim or esim["status"] != "released":
                break
            await self._first_install(esim, event)
            esim = await self._known(event)
        if esim is None or "installation" not in esim:
            return
        payload = EsimInstalledPayload(
            iccid=esim["_id"], order_id=esim["order_id"], installed_at=esim["installation"]["at"]
        )
        await self._send(esim, WebhookEventType.ESIM_INSTALLED, payload, "installed")

    async def _first_install(self, esim: Document, event: ProfileInstalled) -> None:
        at = to_millisecond(event.occurred_at)
        ends_at = at + timedelta(days=esim["validity_days"])
        criteria = {
            "_id": esim["_id"],
            "status": "released",
            "installation": {"$exists": False},
            "validity_days": esim["validity_days"],
        }
        installation = {"at": at, "webhook_id": event.webhook_id}
        change = {"status": "installed", "installation": installation}
        await self.db[ESIMS].update_one(
            criteria, {"$set": {**change, "validity": validity_of(ends_at)}}
        )

    async def on_usage(self, event: UsageUpdated, _context: MessageContext) -> None:
        """Record the data used and left; announce each threshold crossed, once."""
        esim = await self._known(event)
        if esim is None:
            return
        # 64-bit, so a later top-up's `$inc` cannot wrap on FerretDB (see esim_store).
        change = {"data_used_bytes": Int64(event.data_used_bytes)}
        if "data_total_bytes" in esim:
            change["data_remaining_bytes"] = Int64(event.data_remaining_bytes)
        criteria = {"_id": esim["_id"], "data_used_bytes": {"$lte": event.data_used_bytes}}
        await self.db[ESIMS].update_one(criteria, {"$set": change})
        esim = await self._known(event)
        if esim is None:
            return
        for percent in crossed_thresholds(esim):
            await self._announce_threshold(esim, percent, event.occurred_at)

    async def _announce_threshold(self, esim: Document, percent: int, at: datetime) -> None:
        total = esim["data_total_bytes"]
        mark = f"{percent}:{total}"
        if mark in esim["thresholds_notified"]:
            return
        payload = EsimUsageThresholdPayload(
            iccid=esim["_id"],
            threshold_percent=80 if percent == 80 else 100,
            used_bytes=esim["data_used_bytes"],
            total_bytes=total,
            at=to_millisecond(at),
        )
        await self._send(esim, WebhookEventType.ESIM_USAGE_THRESHOLD, payload, f"usage{mark}")
        await self.db[ESIMS].update_one(
            {"_id": esim["_id"], "thresholds_notified": {"$nin": [mark]}},
            {"$addToSet": {"thresholds_notified": mark}},
        )

    async def on_expired(self, event: ProfileExpired, _context: MessageContext) -> None:
        """Mark the eSIM expired (once)."""
        criteria = {"_id": event.iccid, "status": {"$nin": ["expired"]}}
        expiry = {"at": to_millisecond(event.occurred_at), "webhook_id": event.webhook_id}
        result = await self.db[ESIMS].update_one(
            criteria, {"$set": {"status": "expired", "expiry": expiry}}
        )
        if result.matched_count == 0:
            await self._known(event)

    async def warn_validity_ending(self, now: datetime) -> int:
        """Send `esim.validity_ending` for each eSIM whose validity ends within the warning
        window and was not announced for that end; how many were announced now."""
        horizon = now + timedelta(hours=self.settings.esim_validity_warning_hours)
        criteria = {
            "validity.ends_at": {"$gt": now, "$lte": horizon},
            "validity.warned": 0,
            "status": {"$nin": ["expired"]},
        }
        found = self.db[ESIMS].find(criteria, {"matching_id": 0, "_outbox": 0})
        announced = 0
        for esim in await found.limit(VALIDITY_BATCH).to_list():
            ends_at = esim["validity"]["ends_at"]
            payload = EsimValidityEndingPayload(iccid=esim["_id"], ends_at=ends_at)
            source = f"validity:{ends_at.isoformat()}"
            await self._send(esim, WebhookEventType.ESIM_VALIDITY_ENDING, payload, source)
            result = await self.db[ESIMS].update_one(
                {"_id": esim["_id"], "validity.ends_at": ends_at, "validity.warned": 0},
                {"$set": {"validity.warned": 1}},
            )
            announced += result.modified_count
        return announced

    async def check_validity_forever(self) -> None:
        """The background job: `warn_validity_ending` every `esim_validity_check_minutes`."""
        interval = self.settings.esim_validity_check_minutes * 60
        while True:
            try:
                announced = await self.warn_validity_ending(to_millisecond(self.clock()))
                if announced:
                    log.info("esim_validity_ending_announced", esims=announced)
            except Exception as failure:
                log.warning("esim_validity_check_failed", error=type(failure).__name__)
            await asyncio.sleep(interval)

    async def _known(self, event: ProviderCallbackEvent) -> Document | None:
        esim = await self.db[ESIMS].find_one({"_id": event.iccid}, {"matching_id": 0})
        if esim is None:
            log.warning("esim_event_for_unknown_iccid", webhook_id=event.webhook_id)
        return esim

    async def _send(
        self, esim: Document, event_type: WebhookEventType, payload: BaseModel, what: str
    ) -> None:
        source_id = f"esim:{esim['_id']}:{what}"
        await enqueue_delivery(
            self.webhooks, esim["partner_id"], event_type, payload, source_id=source_id
        )


def register(
    service: Service, settings: ProvisioningSettings, webhooks: Webhooks, *, clock: Clock = utcnow
) -> EsimEvents:
    """Hear the provider's events and run the validity check in the background."""
    events = EsimEvents(service.db, webhooks, settings, clock)
    service.router.on(ProfileInstalled, events.on_installed)
    service.router.on(UsageUpdated, events.on_usage)
    service.router.on(ProfileExpired, events.on_expired)
    service.background.append(events.check_validity_forever)
    service.startup.append(lambda: create_indexes(service.db))
    return events
