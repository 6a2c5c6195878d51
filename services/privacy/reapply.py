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
from pymongo.errors import DuplicateKeyError

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
from privacy.ledger import LEDGER, REAPPLY_ANSWERS, REAPPLY_RUNS
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
        """Keep one service's answer on its run, once: a copy of the answer finds its key
        taken and changes nothing."""
        erased = sum(o.records for o in event.outcomes if o.disposition in ERASED)
        answer = {
            "_id": f"{event.run_id}|{event.service}|{event.request_id}",
            "run_id": event.run_id,
            "failed": int(not event.succeeded),
            "erased": erased,
        }
        try:
            await self.desk.db[REAPPLY_ANSWERS].insert_one(answer)
        except DuplicateKeyError:
            log.info("reapply_answer_already_counted", run_id=event.run_id)

    async def get(self, query: GetReapplyRun, _context: MessageContext) -> ReapplyRunView:
        """A run's progress: its answers counted."""
        run = await self.desk.db[REAPPLY_RUNS].find_one({"_id": query.run_id})
        if run is None:
            raise ServiceError("not_found", "no such reapply run")
        answers = self.desk.db[REAPPLY_ANSWERS].find(
            {"run_id": query.run_id}, {"failed": 1, "erased": 1}
        )
        answered = failed = erased = 0
        async for answer in answers:  # summed here: FerretDB's $group takes one accumulator
            answered += 1
            failed += answer["failed"]
            erased += answer["erased"]
        return ReapplyRunView(
            run_id=run["_id"],
            started_at=run["started_at"],
            expected=run["expected"],
            answered=answered,
            failed=failed,
            erased_again=erased,
        )
