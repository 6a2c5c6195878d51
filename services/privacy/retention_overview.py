"""The retention overview: every service's rules (from the registry of inventories) and its
latest sweep. Built here only, for privacy's `/retention` page and for the platform's
`privacy.get_retention_overview.v1` (the ops dashboard's retention page)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.accounts import PLATFORM_ROLES, Actor
from contracts.retention import (
    GetRetentionOverview,
    LatestSweep,
    RetentionOverview,
    RetentionRule,
    ServiceRetention,
)
from privacy import policy_store, store
from privacy.store import Db
from servicekit.errors import ServiceError
from servicekit.service import Service


def _rules(categories: list[Mapping[str, Any]]) -> list[RetentionRule]:
    return [
        RetentionRule(
            name=category["name"],
            retention=category.get("retention"),
            retention_days=category.get("retention_days"),
        )
        for category in categories
    ]


def _sweep(stored: Mapping[str, Any] | None) -> LatestSweep | None:
    if stored is None:
        return None
    return LatestSweep(
        swept_at=stored["swept_at"],
        removed=stored["removed"],
        partners_erased=stored.get("partners_erased", 0),
    )


async def retention_overview(db: Db) -> RetentionOverview:
    """Every service known from an inventory or a sweep, by name, with its rules and its
    latest sweep (None when it never reported one)."""
    sweeps = await policy_store.latest_sweeps(db)
    rules = {
        entry["_id"]: _rules(entry["announcement"]["categories"])
        for entry in await store.record_of_processing(db)
    }
    return RetentionOverview(
        services=[
            ServiceRetention(
                service=name, rules=rules.get(name, []), latest_sweep=_sweep(sweeps.get(name))
            )
            for name in sorted(set(rules) | set(sweeps))
        ]
    )


def require_platform(actor: Actor) -> None:
    """The overview is for the platform: its jobs and its staff, never a partner."""
    if actor.kind == "platform":
        return
    if actor.kind == "user" and actor.partner_id is None and actor.role in PLATFORM_ROLES:
        return
    raise ServiceError("forbidden", "the retention overview is for platform staff only")


def register(service: Service) -> None:
    """Answer `privacy.get_retention_overview.v1` for platform actors."""
    db = service.db

    async def answer(query: GetRetentionOverview, _context: object) -> RetentionOverview:
        require_platform(query.actor)
        return await retention_overview(db)

    service.router.answer(GetRetentionOverview, answer)
