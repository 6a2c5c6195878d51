"""Retention sweeps of the provisioning service: technical logs that outlived their rule go.

The rules are `provisioning.inventory`'s, applied at `now`:
- webhook deliveries 90 days after they were created, their attempts 90 days after made;
- provider callbacks 90 days after receipt (once their event is published);
- orders, top-ups and eSIM profiles (transaction records) 7 years after they were created
  (once their messages are published); each order's key is shredded before the order is
  deleted, so copies of its end user's sealed fields (backups) become unreadable too. This
  rule needs the vault (MASTER_KEYS, BLIND_INDEX_KEY): without one it is skipped and logged,
  since a key that cannot be shredded would outlive its record.

Deletions are `delete_many` with a range on an indexed date. The service sweeps in the
background every `retention_sweep_interval_hours`, first shortly after start; of several
replicas, the first to claim an interval sweeps (an insert keyed by the interval decides).
Each sweep is logged and announced as a `RetentionSwept` event with
`service="provisioning"`, counts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from contracts.retention import RetentionSwept
from provisioning import callbacks, store, webhook_store
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import (
    CALLBACK_RETENTION_DAYS,
    DELIVERY_LOG_RETENTION_DAYS,
    TRANSACTION_RETENTION_DAYS,
    Category,
    before,
)
from provisioning.purchase_store import Kind
from provisioning.settings import ProvisioningSettings
from provisioning.store import ESIMS, ORDERS, Db
from provisioning.webhook_store import ATTEMPTS, DELIVERIES
from servicekit.clock import Clock, utcnow
from servicekit.outbox import PENDING
from servicekit.retention import RUNS, RetentionJob
from servicekit.service import Service
from servicekit.vault import Vault

SERVICE = "provisioning"

log = structlog.get_logger("provisioning.retention")
BATCH = 500
"""Transaction records deleted per round (their keys shredded first)."""


async def create_indexes(db: Db) -> None:
    """The date indexes the sweep's range deletions go through."""
    await webhook_store.create_indexes(db)
    await callbacks.create_indexes(db)
    await store.create_indexes(db)
    await db[RUNS].create_index("at")


@dataclass(frozen=True)
class RetentionReport:
    """What one sweep removed: records per inventory category."""

    swept_at: datetime
    removed: dict[str, int]

    def event(self) -> RetentionSwept:
        """The report as the event the service announces (counts only)."""
        return RetentionSwept(service=SERVICE, swept_at=self.swept_at, removed=self.removed)


class RetentionSweep:
    """Applies the retention rules to the provisioning database."""

    def __init__(self, db: Db, vault: Vault | None = None) -> None:
        self.db = db
        self.vault = vault

    async def sweep(self, now: datetime) -> RetentionReport:
        """Remove every record whose retention has run out at `now`; what was removed."""
        logs = before(now, DELIVERY_LOG_RETENTION_DAYS)
        counts = {
            Category.WEBHOOK_DELIVERIES: await self._older(DELIVERIES, "created_at", logs),
            Category.WEBHOOK_ATTEMPTS: await self._older(ATTEMPTS, "at", logs),
            Category.PROVIDER_CALLBACKS: await self._older(
                CALLBACKS, "received_at", before(now, CALLBACK_RETENTION_DAYS), published=True
            ),
        }
        counts |= await self._transactions(before(now, TRANSACTION_RETENTION_DAYS))
        removed = {str(category): count for category, count in sorted(counts.items()) if count}
        return RetentionReport(swept_at=now, removed=removed)

    async def _older(
        self, collection: str, path: str, cutoff: datetime, *, published: bool = False
    ) -> int:
        criteria: dict[str, object] = {path: {"$lt": cutoff}}
        if published:  # a document with messages still to publish waits for the relay
            criteria[PENDING] = {"$nin": [1]}
        return (await self.db[collection].delete_many(criteria)).deleted_count

    async def _transactions(self, cutoff: datetime) -> dict[Category, int]:
        """Delete the orders, top-ups and eSIMs created before `cutoff`, shredding each
        order's key first (a crash in between leaves the order for the next sweep)."""
        if self.vault is None:
            log.warning("transaction_records_not_swept", reason="encryption_not_configured")
            return {}
        old = {"created_at": {"$lt": cutoff}, PENDING: {"$nin": [1]}}
        counts = {Category.ORDERS: 0, Category.TOPUPS: 0}
        while batch := await self.db[ORDERS].find(old, {"kind": 1}).limit(BATCH).to_list():
            ids = [purchase["_id"] for purchase in batch]
            await self.vault.shred(*ids)
            if not (await self.db[ORDERS].delete_many({"_id": {"$in": ids}})).deleted_count:
                break  # another replica took them meanwhile
            for purchase in batch:
                topup = purchase.get("kind") == Kind.TOPUP
                counts[Category.TOPUPS if topup else Category.ORDERS] += 1
        counts[Category.ESIM_PROFILES] = (await self.db[ESIMS].delete_many(old)).deleted_count
        return counts


def register(service: Service, settings: ProvisioningSettings, *, clock: Clock = utcnow) -> None:
    """Run the retention sweep in the background of the provisioning service."""
    encryption = settings.encryption()
    vault = Vault.from_settings(service.db, encryption) if encryption else None
    job = RetentionJob(
        sweep=RetentionSweep(service.db, vault),
        bus=service.bus,
        interval=timedelta(hours=settings.retention_sweep_interval_hours),
        first_delay=settings.retention_sweep_first_delay_seconds,
        clock=clock,
    )
    service.startup.append(lambda: create_indexes(service.db))
    service.background.append(job.run)
