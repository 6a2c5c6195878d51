"""Retention sweeps in the background: one replica per interval, each sweep reported."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.base import Contract
from servicekit.bus import Bus
from servicekit.clock import Clock, utcnow

RUNS = "retention_runs"
"""Claims of sweep intervals: the replica that inserts an interval's claim sweeps it."""
RUNS_KEPT = timedelta(days=7)

log = structlog.get_logger("servicekit.retention")


class SweepReport(Protocol):
    """What a sweep removed, as the event that announces it (counts only)."""

    def event(self) -> Contract:
        """The announcement: counts per category, never personal data."""


R = TypeVar("R", bound=SweepReport, covariant=True)


class Sweeper(Protocol[R]):
    """A service's sweep of its own database."""

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        """The database swept (also holds the interval claims)."""

    async def sweep(self, now: datetime) -> R:
        """Remove what the retention rules say is due at `now`; report it."""


@dataclass
class RetentionJob(Generic[R]):
    """Sweeps in the background, one replica per interval, and reports each sweep."""

    sweep: Sweeper[R]
    bus: Bus
    interval: timedelta
    first_delay: float
    clock: Clock = utcnow

    async def run(self) -> None:
        """Sweep shortly after start, then every interval, until cancelled."""
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.run_once(self.clock())
            except Exception:
                log.exception("retention_sweep_failed")
            await asyncio.sleep(self.interval.total_seconds())

    async def run_once(self, now: datetime) -> R | None:
        """Sweep at `now` unless another replica claimed this interval; the report, if swept."""
        if not await self._claim(now):
            log.info("retention_sweep_skipped", reason="swept by another replica")
            return None
        report = await self.sweep.sweep(now)
        event = report.event()
        log.info("retention_swept", report=event.model_dump(mode="json"))
        await self.bus.publish(event)
        return report

    async def _claim(self, now: datetime) -> bool:
        runs = self.sweep.db[RUNS]
        number = int(now.timestamp() // self.interval.total_seconds())
        try:
            await runs.insert_one({"_id": f"sweep:{number}", "at": now})
        except DuplicateKeyError:
            return False
        await runs.delete_many({"at": {"$lt": now - RUNS_KEPT}})
        return True
