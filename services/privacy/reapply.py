"""Reapply runs: every erasure of the ledger sent again to every data owner, answers counted.

After a restore from backup (or a replay of old messages) brought erased data back, `python -m
privacy reapply-erasures` starts a run: each ledger entry goes to each registered data owner as
`privacy.reapply_erasure.v1`; each answers `privacy.erasure_reapplied.v1` with what it found and
erased again, counted on the run's document. Erasing again what is already gone changes
nothing, so a run can be repeated safely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from contracts.erasure_ledger import (
    ErasedIdentifier,
    ErasureReapplied,
    GetReapplyRun,
    ReapplyErasure,
    ReapplyErasures,
    ReapplyRunView,
    ReapplyStarted,
)
from contracts.privacy import Disposition
from privacy import store
from privacy.ledger import LEDGER, REAPPLY_RUNS
from privacy.requests import Desk
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.messages import MessageContext

PUBLISH_WINDOW = 200
ERASED = frozenset({Disposition.DELETED, Disposition.PSEUDONYMISED})

log = structlog.get_logger("privacy.reapply")


class Reapply:
    """Reapply runs: send the ledger to every data owner and count the answers."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def start(self, query: ReapplyErasures, _context: MessageContext) -> ReapplyStarted:
        """Send every entry (since `since`) to every registered data owner."""
        services = await store.registered_services(self.desk.db)
        criteria = {} if query.since is None else {"erased_at": {"$gte": query.since}}
        entries = [entry async for entry in self.desk.db[LEDGER].find(criteria)]
        run_id = new_id("rap")
        await self.desk.db[REAPPLY_RUNS].insert_one(
            {
                "_id": run_id,
                "by": query.by,
                "started_at": self.desk.clock(),
                "expected": len(entries) * len(services),
                "answered": 0,
                "failed": 0,
                "erased_again": 0,
            }
        )
        commands = [
            self.desk.bus.outgoing(self._command(run_id, entry), to=service)
            for entry in entries
            for service in services
        ]
        for start in range(0, len(commands), PUBLISH_WINDOW):
            await self.desk.bus.publish_many(commands[start : start + PUBLISH_WINDOW])
        log.info("erasures_reapplying", run_id=run_id, entries=len(entries), by=query.by)
        return ReapplyStarted(run_id=run_id, entries=len(entries), services=services)

    @staticmethod
    def _command(run_id: str, entry: Mapping[str, Any]) -> ReapplyErasure:
        return ReapplyErasure(
            run_id=run_id,
            request_id=entry["_id"],
            scope_partner_id=entry.get("scope_partner_id"),
            identifiers=[ErasedIdentifier.model_validate(i) for i in entry["identifiers"]],
            erased_at=entry["erased_at"],
        )

    async def answered(self, event: ErasureReapplied, _context: MessageContext) -> None:
        """Count one service's answer on its run (the inbox makes a redelivery count once)."""
        erased = sum(o.records for o in event.outcomes if o.disposition in ERASED)
        await self.desk.db[REAPPLY_RUNS].update_one(
            {"_id": event.run_id},
            {"$inc": {"answered": 1, "failed": int(not event.succeeded), "erased_again": erased}},
        )

    async def get(self, query: GetReapplyRun, _context: MessageContext) -> ReapplyRunView:
        """A run's progress."""
        run = await self.desk.db[REAPPLY_RUNS].find_one({"_id": query.run_id})
        if run is None:
            raise ServiceError("not_found", "no such reapply run")
        return ReapplyRunView(
            run_id=run["_id"],
            started_at=run["started_at"],
            expected=run["expected"],
            answered=run["answered"],
            failed=run["failed"],
            erased_again=run["erased_again"],
        )
