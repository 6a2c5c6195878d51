"""Retention sweeps of the accounts service: records that outlived their rule are removed.

The rules are `accounts.inventory`'s, applied at `now`:
- login history: 90 days after the attempt;
- sessions once expired; throttle counters once their window and any lockout have passed;
  ids of carried-out API-key requests after a day;
- a closed partner: 2 years after closure, everything but the ledger is erased, exactly as
  an erasure request for the partner would (people deleted, keys shredded);
- ledger entries: 7 years after they were made, once the partner's account data is erased;
  when none is left, the partner's balance and remaining stub go too. (An open partner's
  entries stay: its statements' opening balances are summed from them.)

Deletions by date are `delete_many` with a range on an indexed field. The service sweeps in
the background every `retention_sweep_interval_hours`, first shortly after start; of several
replicas, the first to claim an interval sweeps (an insert keyed by the interval decides).
Each sweep is logged and announced as `privacy.retention_swept.v1`, counts only.
On demand: `python -m accounts.retention` sweeps once and prints the counts.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from accounts import store
from accounts.erasure import Eraser
from accounts.inventory import (
    API_KEY_REQUEST_RETENTION_DAYS,
    CLOSED_ACCOUNT_RETENTION_DAYS,
    LOGIN_HISTORY_RETENTION_DAYS,
    TRANSACTION_RETENTION_DAYS,
    Category,
    before,
)
from accounts.keys_store import REQUESTS
from accounts.ledger_store import BALANCES
from accounts.settings import AccountsSettings
from accounts.store import Db
from accounts.subjects import ERASED, SubjectFinder
from accounts.throttle import Throttle
from contracts.privacy import SubjectRef
from contracts.retention import RetentionSwept
from servicekit.clock import Clock, utcnow
from servicekit.logging import configure_logging
from servicekit.outbox import PENDING
from servicekit.retention import RUNS, RetentionJob
from servicekit.service import Service
from servicekit.store import Store
from servicekit.vault import Vault

SERVICE = "accounts"
API_KEY_REQUESTS = "api_key_requests"
"""The report's name for ids of carried-out API-key requests (no personal data)."""
PAGE = 100

log = structlog.get_logger("accounts.retention")


async def create_indexes(db: Db) -> None:
    """The indexes the sweep's range deletions and the privacy lookups go through."""
    await db[store.PARTNERS].create_index("closure.at")
    await db[store.PARTNERS].create_index(f"{ERASED}.at")
    await db[store.LOGIN_HISTORY].create_index("partner_id")
    await db[store.RECTIFICATIONS].create_index("partner_id")
    await db[store.LOGIN_THROTTLE].create_index("window.started_at")
    await db[REQUESTS].create_index("at")
    await db[RUNS].create_index("at")


@dataclass(frozen=True)
class RetentionReport:
    """What one sweep removed: records per category, and how many partners it erased."""

    swept_at: datetime
    removed: dict[str, int]
    partners_erased: int

    def event(self) -> RetentionSwept:
        """The report as the event the service announces."""
        return RetentionSwept(
            service=SERVICE,
            swept_at=self.swept_at,
            removed=self.removed,
            partners_erased=self.partners_erased,
        )


class RetentionSweep:
    """Applies the retention rules to the accounts database."""

    def __init__(self, db: Db, vault: Vault, throttle: Throttle) -> None:
        self.db = db
        self.throttle = throttle
        self.finder = SubjectFinder(db, vault)
        self.eraser = Eraser(db, vault)

    @classmethod
    def from_settings(cls, db: Db, vault: Vault, settings: AccountsSettings) -> RetentionSweep:
        """The sweep with the throttle's window and lockout from the settings."""
        window = timedelta(minutes=settings.login_failure_window_minutes)
        lockout = timedelta(minutes=settings.login_lockout_minutes)
        return cls(db, vault, Throttle(db, window, lockout))

    async def sweep(self, now: datetime) -> RetentionReport:
        """Remove every record whose retention has run out at `now`; what was removed."""
        removed: Counter[str] = Counter()
        login_cutoff = before(now, LOGIN_HISTORY_RETENTION_DAYS)
        removed[Category.LOGIN_HISTORY] += await self._older(store.LOGIN_HISTORY, login_cutoff)
        sessions = await self.db[store.SESSIONS].delete_many({"expires_at": {"$lt": now}})
        removed[Category.DASHBOARD_SESSIONS] += sessions.deleted_count
        removed[Category.SIGN_IN_THROTTLING] += await self.throttle.purge(now)
        request_cutoff = before(now, API_KEY_REQUEST_RETENTION_DAYS)
        removed[API_KEY_REQUESTS] += await self._older(REQUESTS, request_cutoff)
        erased = await self._closed_partners(now, removed)
        removed[Category.BALANCE_LEDGER] += await self._ledgers(now)
        counts = {str(category): count for category, count in sorted(removed.items()) if count}
        return RetentionReport(swept_at=now, removed=counts, partners_erased=erased)

    async def _older(self, collection: str, cutoff: datetime) -> int:
        result = await self.db[collection].delete_many({"at": {"$lt": cutoff}})
        return result.deleted_count

    async def _closed_partners(self, now: datetime, removed: Counter[str]) -> int:
        """Erase the partners closed longer than the account retention; how many."""
        cutoff = before(now, CLOSED_ACCOUNT_RETENTION_DAYS)
        due = {"closure.at": {"$lt": cutoff}, ERASED: {"$exists": False}}
        erased = 0
        async for partner_id in self._ids(store.PARTNERS, due):
            subject = SubjectRef(partner_id=partner_id)
            records = await self.finder.find(subject, whole_closed_partners=True)
            removed.update(await self.eraser.erase(records, now))
            erased += 1
        return erased

    async def _ledgers(self, now: datetime) -> int:
        """Delete erased partners' ledger entries older than 7 years; then, when none is
        left, their balance and stub. How many entries."""
        cutoff = before(now, TRANSACTION_RETENTION_DAYS)
        deleted = 0
        async for partner_id in self._ids(store.PARTNERS, {f"{ERASED}.at": {"$lt": now}}):
            old = {"partner_id": partner_id, "created_at": {"$lt": cutoff}}
            deleted += (await self.db[store.LEDGER].delete_many(old)).deleted_count
            if await self.db[store.LEDGER].count_documents({"partner_id": partner_id}):
                continue
            # Documents with messages still to publish wait for the outbox relay.
            unpublished = {PENDING: {"$nin": [1]}}
            await self.db[BALANCES].delete_one({"_id": partner_id, **unpublished})
            await self.db[store.PARTNERS].delete_one({"_id": partner_id, **unpublished})
        return deleted

    async def _ids(self, collection: str, criteria: dict[str, Any]) -> AsyncIterator[str]:
        """The ids of the matching documents, read a page at a time in `_id` order."""
        after: str | None = None
        while True:
            query = criteria if after is None else {**criteria, "_id": {"$gt": after}}
            cursor = self.db[collection].find(query, {"_id": 1}).sort("_id", 1).limit(PAGE)
            page = [document["_id"] async for document in cursor]
            for document_id in page:
                yield document_id
            if len(page) < PAGE:
                return
            after = page[-1]


def register(
    service: Service, settings: AccountsSettings, vault: Vault, *, clock: Clock = utcnow
) -> None:
    """Run the retention sweep in the background of the accounts service."""
    job = RetentionJob(
        sweep=RetentionSweep.from_settings(service.db, vault, settings),
        bus=service.bus,
        interval=timedelta(hours=settings.retention_sweep_interval_hours),
        first_delay=settings.retention_sweep_first_delay_seconds,
        clock=clock,
    )
    service.startup.append(lambda: create_indexes(service.db))
    service.background.append(job.run)


async def sweep_once(settings: AccountsSettings, now: datetime) -> RetentionReport:
    """Sweep the accounts database once, outside the service (no event is published)."""
    accounts = Store(url=settings.mongo_url, database=settings.database_name(SERVICE))
    try:
        await create_indexes(accounts.db)
        vault = Vault.from_settings(accounts.db, settings)
        return await RetentionSweep.from_settings(accounts.db, vault, settings).sweep(now)
    finally:
        await accounts.close()


def main() -> None:
    """`python -m accounts.retention`: sweep now, log it, print the counts as JSON."""
    settings = AccountsSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    report = asyncio.run(sweep_once(settings, utcnow()))
    log.info("retention_swept", removed=report.removed, partners_erased=report.partners_erased)
    print(json.dumps(report.event().model_dump(mode="json")))


if __name__ == "__main__":
    main()
