"""Retention sweeps of the logs service: records that outlived their rule go.

The rules are `logs.inventory`'s, applied at `now`: API request logs 30 days after they were
received, technical logs 90 days after they happened, order facts 90 days after the order
completed. Each is deleted in batches of `retention_batch_size`, found by a range on its
indexed date. The service sweeps in the background every `retention_sweep_interval_hours`,
first shortly after start; of several replicas, the first to claim an interval sweeps. Each
sweep is logged and announced as a `RetentionSwept` event with `service="logs"`, counts
only. Keys are not shredded here: they are the partner's, user's or address's, and seal
their newer records too.

With `LOGS_TTL_INDEXES` the store also expires the records itself, by a TTL index on the
same dates (MongoDB; decision 0002 records what FerretDB and nx-27017 do). That index is
descending, so it never collides with the ascending index the queries and sweeps use:
MongoDB refuses to give an existing index other options through `createIndex`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from pymongo import DESCENDING
from pymongo.errors import OperationFailure

from contracts.retention import RetentionSwept
from logs import store
from logs.inventory import (
    API_REQUEST_RETENTION_DAYS,
    ORDER_FACT_RETENTION_DAYS,
    TECHNICAL_LOG_RETENTION_DAYS,
    Category,
    before,
)
from logs.order_facts import ORDER_FACTS
from logs.settings import LogsSettings
from logs.store import Db
from servicekit.clock import Clock, utcnow
from servicekit.retention import RUNS, RetentionJob
from servicekit.service import Service

SERVICE = "logs"
INDEX_OPTIONS_CONFLICT = 85
"""MongoDB's answer to `createIndex` of an existing index with other options."""

log = structlog.get_logger("logs.retention")


@dataclass(frozen=True)
class Rule:
    """How long one collection's records are kept, counted from which date field."""

    collection: str
    category: Category
    date_field: str
    days: int


RULES = (
    Rule(store.API_REQUESTS, Category.API_REQUEST_LOGS, "received_at", API_REQUEST_RETENTION_DAYS),
    Rule(store.TECHNICAL, Category.TECHNICAL_LOGS, "at", TECHNICAL_LOG_RETENTION_DAYS),
    Rule(ORDER_FACTS, Category.ORDER_FACTS, "completed_at", ORDER_FACT_RETENTION_DAYS),
)


async def create_indexes(db: Db) -> None:
    """The date indexes the sweep's ranges go through, and the interval claims'."""
    for rule in RULES:
        await db[rule.collection].create_index(rule.date_field)
    await db[RUNS].create_index("at")


async def create_ttl_indexes(db: Db) -> dict[str, bool]:
    """A TTL index per rule (descending, beside the ascending one); per collection, whether
    the server took it. A server that refuses is logged and left to the sweeps."""
    taken: dict[str, bool] = {}
    for rule in RULES:
        seconds = rule.days * 24 * 3600
        try:
            await _ttl_index(db, rule.collection, rule.date_field, seconds)
            taken[rule.collection] = True
        except OperationFailure as refused:
            log.warning("ttl_index_refused", collection=rule.collection, code=refused.code)
            taken[rule.collection] = False
    return taken


async def _ttl_index(db: Db, collection: str, field: str, seconds: int) -> None:
    try:
        await db[collection].create_index([(field, DESCENDING)], expireAfterSeconds=seconds)
    except OperationFailure as conflict:
        if conflict.code != INDEX_OPTIONS_CONFLICT:
            raise
        index = {"keyPattern": {field: DESCENDING}, "expireAfterSeconds": seconds}
        await db.command({"collMod": collection, "index": index})


@dataclass(frozen=True)
class RetentionReport:
    """What one sweep removed: records per inventory category."""

    swept_at: datetime
    removed: dict[str, int]

    def event(self) -> RetentionSwept:
        """The report as the event the service announces (counts only)."""
        return RetentionSwept(service=SERVICE, swept_at=self.swept_at, removed=self.removed)


class RetentionSweep:
    """Applies the retention rules to the logs database."""

    def __init__(self, db: Db, batch_size: int = 1000) -> None:
        self.db = db
        self.batch_size = batch_size

    async def sweep(self, now: datetime) -> RetentionReport:
        """Remove every record whose retention has run out at `now`; what was removed."""
        counts = {rule.category: await self._expired(rule, now) for rule in RULES}
        removed = {str(category): count for category, count in sorted(counts.items()) if count}
        return RetentionReport(swept_at=now, removed=removed)

    async def _expired(self, rule: Rule, now: datetime) -> int:
        """Delete the rule's records that outlived it at `now`, a batch at a time."""
        records = self.db[rule.collection]
        older = {rule.date_field: {"$lt": before(now, rule.days)}}
        removed = 0
        while batch := await records.find(older, {"_id": 1}).limit(self.batch_size).to_list():
            ids = [record["_id"] for record in batch]
            deleted = (await records.delete_many({"_id": {"$in": ids}})).deleted_count
            if not deleted:
                break  # another replica (or the store's TTL) took them meanwhile
            removed += deleted
        return removed


def register(service: Service, settings: LogsSettings, *, clock: Clock = utcnow) -> None:
    """Run the retention sweep in the background of the logs service (and, when
    `logs_ttl_indexes` says so, let the store expire records too)."""
    job = RetentionJob(
        sweep=RetentionSweep(service.db, settings.retention_batch_size),
        bus=service.bus,
        interval=timedelta(hours=settings.retention_sweep_interval_hours),
        first_delay=settings.retention_sweep_first_delay_seconds,
        clock=clock,
    )
    service.startup.append(lambda: create_indexes(service.db))
    if settings.logs_ttl_indexes:
        service.startup.append(lambda: _log_ttl(service.db))
    service.background.append(job.run)


async def _log_ttl(db: Db) -> None:
    log.info("ttl_indexes", taken=await create_ttl_indexes(db))
